package store

import "time"

func timeAt(ms int64) time.Time { return time.UnixMilli(ms) }
