package pass

import (
	"encoding/base32"
	"errors"
)

// Store IDs are 16 characters of lower-case Crockford base32 (80 bits).
var idEnc = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

func idBytes(id string) ([]byte, error) {
	if len(id) != 16 {
		return nil, errors.New("pass: bad id")
	}
	return idEnc.DecodeString(id)
}

func idString(b []byte) string { return idEnc.EncodeToString(b) }
