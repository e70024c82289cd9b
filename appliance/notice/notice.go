// Package notice is the property office's notice board and message centre.
//
// Announcements (社区公告) have a title, an audience, a cover picture, a short
// description and rich content. The content is HTML edited in the page; what
// is stored is what Sanitize lets through — a strict allow-list of the
// formatting the page offers — so no script survives into anyone's page.
// Announcements are drafts until published; a published one can be pinned,
// unpublished, edited and deleted. Who sees one is decided by its audience
// (Audience.Includes): visitors on their visit pages, employees and property
// staff on their home pages.
//
// The message centre sends a normal message to one person, or an urgent one
// to a whole audience. Urgent broadcasts are capped per calendar month in the
// site's time zone (the setting broadcasts_per_month): the count is kept in
// one key per month and checked and raised inside the send command, so two
// sends at once cannot both be the last one allowed. Messages travel through
// the notification outbox (appliance/notify); the history keeps the outbox
// IDs, so it shows each recipient's delivery state.
package notice

import (
	"errors"
	"time"
)

// Errors.
var (
	// ErrNotFound means no such announcement, picture or message.
	ErrNotFound = errors.New("notice: not found")
	// ErrCapReached means this month's urgent broadcasts are used up.
	ErrCapReached = errors.New("notice: monthly broadcast limit reached")
	// ErrState means the change does not fit the announcement's state
	// (pinning a draft).
	ErrState = errors.New("notice: not allowed in this state")
	// ErrNoRecipient means nobody could be reached: no account, address or
	// phone for the person, or an audience with nobody in it.
	ErrNoRecipient = errors.New("notice: nobody to send to")
)

// Audience is who an announcement or an urgent message is for.
type Audience string

// Audiences.
const (
	Visitors  Audience = "visitors"
	Employees Audience = "employees" // tenant employees (host accounts)
	Staff     Audience = "staff"     // property staff: administrators, managers, reception
	Everyone  Audience = "everyone"
)

// Audiences lists them in display order.
var Audiences = []Audience{Everyone, Visitors, Employees, Staff}

// Valid reports whether a is a known audience.
func (a Audience) Valid() bool {
	switch a {
	case Visitors, Employees, Staff, Everyone:
		return true
	}
	return false
}

// Includes reports whether someone of audience who (Visitors, Employees or
// Staff) is among a.
func (a Audience) Includes(who Audience) bool {
	return a == Everyone || (a == who && who != Everyone)
}

// State of an announcement.
type State string

// States.
const (
	Draft       State = "draft"
	Published   State = "published"
	Unpublished State = "unpublished" // was published, taken down; can be published again
)

// Announcement is one notice.
type Announcement struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Audience    Audience `json:"audience"`
	CoverID     string   `json:"cover_id,omitempty"` // picture (KindNoticeImage)
	Description string   `json:"description,omitempty"`
	Content     string   `json:"content,omitempty"` // sanitised HTML
	State       State    `json:"state"`
	Pinned      bool     `json:"pinned"`
	Created     int64    `json:"created"`
	Updated     int64    `json:"updated"`
	Published   int64    `json:"published,omitempty"` // last time it was published
	By          string   `json:"by"`
}

// PublishedAt is when the announcement was last published (zero if never).
func (a Announcement) PublishedAt() time.Time {
	if a.Published == 0 {
		return time.Time{}
	}
	return time.Unix(0, a.Published)
}

// UpdatedAt is when it was last changed.
func (a Announcement) UpdatedAt() time.Time { return time.Unix(0, a.Updated) }

// Limits (runes unless said otherwise).
const (
	MaxTitle       = 60     // hard limit; the page warns past TitleWarn
	TitleWarn      = 20     // titles longer than this are shown cut on phones
	MaxDescription = 50     // the limit; counted per character, so 50 汉字
	MaxContent     = 200000 // bytes of sanitised HTML
	// MaxRawContent is the most content read at all: what the editor
	// sends is the stored HTML give or take, and sanitising megabytes of
	// markup costs seconds of a small appliance's CPU.
	MaxRawContent = 4 * MaxContent
	MaxText       = 1000 // a message's own text
)
