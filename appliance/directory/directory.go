// Package directory is the building's directory: floors, tenant companies,
// their employees, and the property staff.
//
// Employees and property staff are both a Person, told apart by Kind:
// employees belong to a company and one of its floors and carry a unique
// employee number; staff belong to the building. Records are never deleted:
// they are deactivated, so visit history keeps pointing at real people.
//
// A person's mobile number is personal data and is sealed with the site
// key (appliance/secret) by the service before it goes into a command, as
// visitors' are: the store, the command log and the staged rows of an
// import hold only MobileSealed and the blind index MobileBlind.
// Person.Mobile, the number in clear, is what a caller gives SavePerson; it
// has no JSON name, so it can reach neither a command nor the store, and
// read back it is "" until Service.Mobile opens it for the pages that show
// it whole (the edit form, the tap-to-call link) and the JSON API. Staff
// find hosts by the mobile's last 4 digits through MobileTail, a blind
// value of those digits (hosts.go); the whole number is searched by
// nobody. Data from releases that kept the number in clear is sealed
// when the store is opened (store/DESIGN.md, schema 2).
package directory

import (
	"errors"
	"net/mail"
	"regexp"
	"slices"
	"strings"

	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
)

// Errors.
var (
	// ErrNotFound means no such floor, company or person.
	ErrNotFound = errors.New("directory: not found")
	// ErrImportRunning means an employee import is being written; directory
	// edits wait until it is done so that they cannot clash with it.
	ErrImportRunning = errors.New("directory: an import is being written")
)

// Kind tells employees from property staff.
type Kind string

// Kinds of person.
const (
	Employee Kind = "employee"
	Staff    Kind = "staff"
)

// Floor is one floor of the building.
type Floor struct {
	ID     string `json:"id"`
	Name   string `json:"name"`  // as shown in the lift: "B1", "12F", "12楼"
	Level  int    `json:"level"` // sort order: basement floors negative
	Active bool   `json:"active"`
	// Common floors (the lobby, a canteen, a roof garden) are open to every
	// employee the lifts carry, whatever their company (access, elevator).
	Common bool `json:"common,omitempty"`
}

// Company is a tenant company, on one or more floors.
type Company struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	FloorIDs []string `json:"floor_ids"`
	Phone    string   `json:"phone,omitempty"` // front desk of the company
	Active   bool     `json:"active"`
}

// Person is an employee of a tenant company or a member of property staff.
type Person struct {
	ID   string `json:"id"`
	Kind Kind   `json:"kind"`
	Name string `json:"name"`
	// EnglishName is the name the person goes by in English ("Leo
	// Wang"), optional: the desk and visitors find hosts by it.
	EnglishName string `json:"english_name,omitempty"`
	// Mobile is the number in clear, held only in memory: see the package
	// comment. Read from the store it is "", and Service.Mobile opens it.
	Mobile       string `json:"-"`
	MobileSealed string `json:"mobile_sealed,omitempty"`
	MobileBlind  string `json:"mobile_blind,omitempty"` // secret.Keys.Blind(BlindMobile, number)
	// MobileTail is the blind value of the mobile's last 4 digits
	// (BlindMobileTail), which staff search hosts by (hosts.go).
	MobileTail string `json:"mobile_tail,omitempty"`
	CompanyID  string `json:"company_id,omitempty"`
	FloorID    string `json:"floor_id,omitempty"`
	EmployeeNo string `json:"employee_no,omitempty"`
	Position   string `json:"position,omitempty"`
	CanHost    bool   `json:"can_host"` // may receive visitors and sign in as host
	Active     bool   `json:"active"`
	// Deactivated is when the person was last deactivated (Unix ns; 0 while
	// active, or for someone deactivated before it was recorded, until the
	// retention purge stamps them: see purge.go).
	Deactivated int64 `json:"deactivated,omitempty"`
	// Purged is when the retention purge removed the person's personal
	// data (Unix ns): name, mobile, employee number and position are gone.
	Purged int64 `json:"purged,omitempty"`
	Line   int   `json:"line,omitempty"` // source line while staged by an import

	// Email is the address in clear, held only in memory like Mobile;
	// the store holds it sealed (EmailSealed), and Service.Email opens it.
	Email       string `json:"-"`
	EmailSealed string `json:"email_sealed,omitempty"`
	// Notify is how a host hears of their visitors besides the page:
	// NotifyPage, NotifySMS, NotifyEmail or NotifyBoth.
	Notify string `json:"notify,omitempty"`
}

// Notification preferences (Person.Notify). The page always tells a host
// who is signed in; these add the phone and the mailbox.
const (
	NotifyPage  = ""      // in the app only
	NotifySMS   = "sms"   // and by SMS to the mobile
	NotifyEmail = "email" // and by email
	NotifyBoth  = "both"  // and by SMS and email
)

// NotifyChoices lists the preferences in display order.
var NotifyChoices = []string{NotifyPage, NotifySMS, NotifyEmail, NotifyBoth}

// MaxEmail is the longest address (RFC 5321's path limit).
const MaxEmail = 254

// WantsSMS reports whether p asked to hear by SMS.
func (p Person) WantsSMS() bool { return p.Notify == NotifySMS || p.Notify == NotifyBoth }

// WantsEmail reports whether p asked to hear by email.
func (p Person) WantsEmail() bool { return p.Notify == NotifyEmail || p.Notify == NotifyBoth }

// checkContact checks the email address in clear (the issuer's check:
// a handler sees only the sealed one) and the preference.
func checkContact(es *field.Errors, p *Person) {
	p.Email = strings.TrimSpace(p.Email)
	if p.Email != "" {
		a, err := mail.ParseAddress(p.Email)
		if err != nil || a.Address != p.Email || len(p.Email) > MaxEmail ||
			strings.ContainsFunc(p.Email, func(r rune) bool { return r <= 0x20 || r >= 0x7F }) {
			es.Add("email", "invalid_email")
		}
	}
	if !slices.Contains(NotifyChoices, p.Notify) {
		es.Add("notify", "invalid")
	} else if p.WantsEmail() && p.Email == "" && p.EmailSealed == "" {
		es.Add("email", "required")
	}
}

// BlindMobile is the blind-index kind of mobile numbers: the visitors'
// (appliance/visit) and the screening lists' too, so one number has one
// blind value wherever it is held.
const BlindMobile = "mobile"

// BlindMobileTail is the blind-index kind of the last 4 digits of a
// directory person's mobile: a kind of its own, so that the value of 4
// digits never equals a whole number's.
const BlindMobileTail = "mobile-tail"

// Limits on field lengths (runes).
const (
	MaxName     = 64
	MaxFloor    = 16
	MaxCompany  = 100
	MaxPosition = 64
	MaxNo       = 32
)

var (
	mobileRE = regexp.MustCompile(`^(1[3-9][0-9]{9}|\+[1-9][0-9]{6,14})$`)
	phoneRE  = regexp.MustCompile(`^\+?[0-9][0-9-]{4,19}$`)
	empNoRE  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,32}$`)
)

// NormalizeMobile removes spaces and dashes people type into phone numbers.
func NormalizeMobile(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '(' || r == ')' {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
}

// checkFloor validates a floor's own fields.
func checkFloor(f *Floor) field.Errors {
	var es field.Errors
	f.Name = es.Text("name", f.Name, true, MaxFloor)
	if f.Level < -20 || f.Level > 300 {
		es.Add("level", "out_of_range")
	}
	if f.ID != "" && !store.ValidID(f.ID) {
		es.Add("id", "invalid")
	}
	return es
}

// checkCompany validates a company against the floors that exist.
func checkCompany(r *store.Reader, c *Company) (field.Errors, error) {
	var es field.Errors
	c.Name = es.Text("name", c.Name, true, MaxCompany)
	c.Phone = NormalizeMobile(c.Phone)
	if c.Phone != "" && !phoneRE.MatchString(c.Phone) {
		es.Add("phone", "invalid_phone")
	}
	if !store.ValidID(c.ID) {
		es.Add("id", "invalid")
		return es, nil
	}
	if len(c.FloorIDs) == 0 {
		es.Add("floor_ids", "required")
	}
	seen := map[string]bool{}
	for _, fid := range c.FloorIDs {
		if seen[fid] {
			es.Add("floor_ids", "duplicate")
			break
		}
		seen[fid] = true
		f, err := getFloor(r, fid)
		if errors.Is(err, ErrNotFound) || (err == nil && !f.Active) {
			es.Add("floor_ids", "unknown_floor")
			break
		} else if err != nil {
			return nil, err
		}
	}
	if c.Name != "" {
		id, err := r.Get(store.Key(store.KindCompanyByName, strings.ToLower(c.Name)))
		switch {
		case err == nil && string(id) != c.ID:
			es.Add("name", "duplicate_company")
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
	}
	return es, nil
}

// checkPerson validates a person against the directory as it stands. The
// service runs it before sealing, when the mobile is in clear and its form
// can be checked; the save handler and the import's commit run it again on
// the sealed record, against the directory at that moment, and can only see
// that a sealed mobile is there.
func checkPerson(r *store.Reader, p *Person) (field.Errors, error) {
	var es field.Errors
	if !store.ValidID(p.ID) {
		es.Add("id", "invalid")
		return es, nil
	}
	p.Name = es.Text("name", p.Name, true, MaxName)
	p.EnglishName = es.Text("english_name", p.EnglishName, false, MaxName)
	p.Mobile = NormalizeMobile(p.Mobile)
	switch {
	case p.Mobile != "": // in clear: the issuer checks it before sealing it
		if !mobileRE.MatchString(p.Mobile) {
			es.Add("mobile", "invalid_mobile")
		}
	case p.MobileSealed == "" || p.MobileBlind == "": // a handler sees only the sealed number
		es.Add("mobile", "required")
	}
	checkContact(&es, p)
	p.Position = es.Text("position", p.Position, false, MaxPosition)
	p.EmployeeNo = strings.TrimSpace(p.EmployeeNo)
	switch p.Kind {
	case Employee:
		if p.EmployeeNo == "" {
			es.Add("employee_no", "required")
		}
		if p.CompanyID == "" {
			es.Add("company_id", "required")
			break
		}
		c, err := getCompany(r, p.CompanyID)
		if errors.Is(err, ErrNotFound) {
			es.Add("company_id", "unknown_company")
			break
		} else if err != nil {
			return nil, err
		}
		if !c.Active {
			es.Add("company_id", "inactive_company")
		}
		if p.FloorID == "" {
			es.Add("floor_id", "required")
		} else if !contains(c.FloorIDs, p.FloorID) {
			es.Add("floor_id", "floor_not_of_company")
		}
	case Staff:
		p.CompanyID, p.FloorID = "", ""
	default:
		es.Add("kind", "invalid")
	}
	if p.EmployeeNo != "" {
		if !empNoRE.MatchString(p.EmployeeNo) {
			es.Add("employee_no", "invalid_employee_no")
		} else {
			id, err := r.Get(store.Key(store.KindPersonByNo, strings.ToLower(p.EmployeeNo)))
			switch {
			case err == nil && string(id) != p.ID:
				es.Add("employee_no", "duplicate_employee_no")
			case err != nil && !errors.Is(err, store.ErrNotFound):
				return nil, err
			}
		}
	}
	return es, nil
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// ValidMobile reports whether m, normalized, is a mobile number's form.
func ValidMobile(m string) bool { return mobileRE.MatchString(NormalizeMobile(m)) }
