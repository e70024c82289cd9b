package isapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"strings"
	"time"
	"unicode/utf8"
)

// Event types and codes the appliance acts on.
const (
	MajorEvent     = 5  // "event" (as opposed to alarm, exception, operation)
	SubFacePass    = 75 // face authentication passed: the terminal matched a person on file
	SubFaceFail    = 76 // face authentication failed: a face it does not know
	MaxEventBytes  = 2 << 20
	maxEventJSON   = 64 << 10
	maxEmployeeNo  = 32
	accessCtrlType = "AccessControllerEvent"
)

// ErrBadEvent: the body is not an event the driver understands.
var ErrBadEvent = errors.New("isapi: malformed event")

// AccessControllerEvent is the access part of a pushed event.
type AccessControllerEvent struct {
	DeviceName        string `json:"deviceName"`
	MajorEventType    int    `json:"majorEventType"`
	SubEventType      int    `json:"subEventType"`
	Name              string `json:"name"`
	CardReaderNo      int    `json:"cardReaderNo"`
	DoorNo            int    `json:"doorNo"`
	EmployeeNoString  string `json:"employeeNoString"`
	SerialNo          int64  `json:"serialNo"`
	UserType          string `json:"userType"`
	CurrentVerifyMode string `json:"currentVerifyMode"`
}

// Alert is the pushed EventNotificationAlert, as JSON.
type Alert struct {
	IPAddress   string                 `json:"ipAddress"`
	PortNo      int                    `json:"portNo"`
	Protocol    string                 `json:"protocol"`
	MACAddress  string                 `json:"macAddress"`
	ChannelID   int                    `json:"channelID"`
	DateTime    string                 `json:"dateTime"`
	ActivePosts int                    `json:"activePostCount"`
	EventType   string                 `json:"eventType"`
	EventState  string                 `json:"eventState"`
	Description string                 `json:"eventDescription"`
	Access      *AccessControllerEvent `json:"AccessControllerEvent,omitempty"`
}

// Event is what the appliance takes from an Alert.
type Event struct {
	Type       string    // eventType: AccessControllerEvent, heartBeat, ...
	Major, Sub int       // 0 for other event types
	EmployeeNo string    // the matched person; never logged with a name
	Serial     int64     // the terminal's event serial number
	Door       int       // doorNo, 0 when not said
	At         time.Time // dateTime, zero when absent or unreadable
}

// FacePassed reports whether e says the terminal recognised a person.
func (e Event) FacePassed() bool {
	return e.Type == accessCtrlType && e.Major == MajorEvent && e.Sub == SubFacePass && e.EmployeeNo != ""
}

// ParseEvent reads a pushed event: multipart/form-data (or mixed) with an
// "event_log" JSON part — other parts, the captured picture among them,
// are skipped unread beyond the body's bound — or a bare JSON body.
func ParseEvent(contentType string, body []byte) (Event, error) {
	if len(body) > MaxEventBytes {
		return Event{}, fmt.Errorf("%w: %d bytes", ErrBadEvent, len(body))
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err == nil && strings.HasPrefix(mt, "multipart/") {
		js, err := eventPart(body, params["boundary"])
		if err != nil {
			return Event{}, err
		}
		return parseAlert(js)
	}
	return parseAlert(body)
}

func eventPart(body []byte, boundary string) ([]byte, error) {
	if boundary == "" {
		return nil, fmt.Errorf("%w: multipart without boundary", ErrBadEvent)
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		p, err := mr.NextPart()
		if err != nil {
			return nil, fmt.Errorf("%w: no event_log part", ErrBadEvent)
		}
		if p.FormName() != "event_log" {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(p, maxEventJSON+1))
		if err != nil || len(b) > maxEventJSON {
			return nil, fmt.Errorf("%w: event_log part unreadable or too long", ErrBadEvent)
		}
		return b, nil
	}
}

func parseAlert(b []byte) (Event, error) {
	if len(b) > maxEventJSON {
		return Event{}, fmt.Errorf("%w: event too long", ErrBadEvent)
	}
	var a Alert
	if err := json.Unmarshal(bytes.TrimSpace(b), &a); err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrBadEvent, jsonProblem(err))
	}
	if a.EventType == "" {
		return Event{}, fmt.Errorf("%w: no eventType", ErrBadEvent)
	}
	e := Event{Type: a.EventType}
	if t, err := time.Parse(time.RFC3339, a.DateTime); err == nil {
		e.At = t
	}
	if a.Access != nil {
		no := strings.TrimSpace(a.Access.EmployeeNoString)
		if len(no) > maxEmployeeNo || !utf8.ValidString(no) || strings.ContainsFunc(no, func(r rune) bool { return r < 0x21 || r == 0x7F }) {
			return Event{}, fmt.Errorf("%w: employeeNoString malformed", ErrBadEvent)
		}
		e.Major, e.Sub, e.EmployeeNo, e.Serial, e.Door = a.Access.MajorEventType, a.Access.SubEventType, no, a.Access.SerialNo, a.Access.DoorNo
	}
	return e, nil
}

// jsonProblem names what was wrong without echoing the body.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		return "field " + te.Field + " of the wrong type"
	}
	return "not JSON"
}
