package isapi

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"time"
)

// TimeLayout is how ISAPI writes a person's validity: local time of the
// terminal, without a zone ("2026-12-07T09:00:00").
const TimeLayout = "2006-01-02T15:04:05"

// User types.
const (
	Normal  = "normal"
	Visitor = "visitor"
)

// Valid is a person's validity on the terminal.
type Valid struct {
	Enable    bool   `json:"enable"`
	BeginTime string `json:"beginTime"`
	EndTime   string `json:"endTime"`
	TimeType  string `json:"timeType,omitempty"` // "local"
}

// RightPlan gives a person a door and its schedule template (1: all day).
type RightPlan struct {
	DoorNo         int    `json:"doorNo"`
	PlanTemplateNo string `json:"planTemplateNo"`
}

// UserInfo is a person on the terminal.
type UserInfo struct {
	EmployeeNo string      `json:"employeeNo"`
	Name       string      `json:"name"`
	UserType   string      `json:"userType"`
	Valid      Valid       `json:"Valid"`
	DoorRight  string      `json:"doorRight,omitempty"`
	RightPlan  []RightPlan `json:"RightPlan,omitempty"`
}

// LogValue keeps names out of logs: only the employee number, which is
// the appliance's own opaque identifier.
func (u UserInfo) LogValue() string { return "UserInfo{" + u.EmployeeNo + "}" }

// NewUser is a person valid from begin to end (in loc, the terminal's
// zone) for door.
func NewUser(no, name string, visitor bool, begin, end time.Time, loc *time.Location, door int) UserInfo {
	t := Normal
	if visitor {
		t = Visitor
	}
	return UserInfo{EmployeeNo: no, Name: name, UserType: t, DoorRight: fmt.Sprint(door),
		RightPlan: []RightPlan{{DoorNo: door, PlanTemplateNo: "1"}},
		Valid:     Valid{Enable: true, BeginTime: begin.In(loc).Format(TimeLayout), EndTime: end.In(loc).Format(TimeLayout), TimeType: "local"}}
}

type userInfoBody struct {
	UserInfo UserInfo `json:"UserInfo"`
}

type employeeNo struct {
	EmployeeNo string `json:"employeeNo"`
}

type userDelete struct {
	UserInfoDelCond struct {
		EmployeeNoList []employeeNo `json:"EmployeeNoList"`
	} `json:"UserInfoDelCond"`
}

// FaceDataRecord is the JSON part of a face upload.
type FaceDataRecord struct {
	FaceLibType string `json:"faceLibType"` // "blackFD": the list of people let in
	FDID        string `json:"FDID"`        // face library 1
	FPID        string `json:"FPID"`        // the person's employeeNo
}

// ResponseStatus is the terminal's answer to a change, JSON or XML.
type ResponseStatus struct {
	XMLName       xml.Name `xml:"ResponseStatus" json:"-"`
	RequestURL    string   `xml:"requestURL" json:"requestURL,omitempty"`
	StatusCode    int      `xml:"statusCode" json:"statusCode"`
	StatusString  string   `xml:"statusString" json:"statusString"`
	SubStatusCode string   `xml:"subStatusCode" json:"subStatusCode"`
	ErrorCode     int      `xml:"-" json:"errorCode,omitempty"`
	ErrorMsg      string   `xml:"-" json:"errorMsg,omitempty"`
}

// StatusError is a ResponseStatus that is not OK.
type StatusError struct {
	HTTP   int
	Status ResponseStatus
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("isapi: HTTP %d status %d %s (%s)", e.HTTP, e.Status.StatusCode, e.Status.StatusString, e.Status.SubStatusCode)
}

// Sub-status codes the driver acts on.
const (
	SubOK             = "ok"
	SubEmployeeExists = "employeeNoAlreadyExist"
	SubNoSuchEmployee = "employeeNoNotExist"
)

// DeviceInfo is GET /ISAPI/System/deviceInfo.
type DeviceInfo struct {
	XMLName         xml.Name `xml:"DeviceInfo"`
	DeviceName      string   `xml:"deviceName"`
	DeviceID        string   `xml:"deviceID"`
	Model           string   `xml:"model"`
	SerialNumber    string   `xml:"serialNumber"`
	MACAddress      string   `xml:"macAddress"`
	FirmwareVersion string   `xml:"firmwareVersion"`
	DeviceType      string   `xml:"deviceType"`
}

// HTTPHost is one push target (HttpHostNotification).
type HTTPHost struct {
	XMLName                  xml.Name `xml:"HttpHostNotification"`
	ID                       string   `xml:"id"`
	URL                      string   `xml:"url"`
	ProtocolType             string   `xml:"protocolType"`        // HTTP or HTTPS
	ParameterFormatType      string   `xml:"parameterFormatType"` // JSON
	AddressingFormatType     string   `xml:"addressingFormatType"`
	HostName                 string   `xml:"hostName,omitempty"`
	IPAddress                string   `xml:"ipAddress,omitempty"`
	PortNo                   int      `xml:"portNo"`
	HTTPAuthenticationMethod string   `xml:"httpAuthenticationMethod"` // none: the path carries the secret
}

// HTTPHostList is the body of PUT /ISAPI/Event/notification/httpHosts.
type HTTPHostList struct {
	XMLName xml.Name   `xml:"HttpHostNotificationList"`
	XMLNS   string     `xml:"xmlns,attr,omitempty"`
	Version string     `xml:"version,attr,omitempty"`
	Hosts   []HTTPHost `xml:"HttpHostNotification"`
}

// RemoteControlDoor is the body of PUT .../RemoteControl/door/<n>.
type RemoteControlDoor struct {
	XMLName xml.Name `xml:"RemoteControlDoor"`
	XMLNS   string   `xml:"xmlns,attr,omitempty"`
	Version string   `xml:"version,attr,omitempty"`
	Cmd     string   `xml:"cmd"` // open, close, alwaysOpen, alwaysClose
}

// Namespace of ISAPI's XML documents.
const Namespace = "http://www.isapi.org/ver20/XMLSchema"

func decodeStatus(ct string, b []byte) (ResponseStatus, error) {
	var s ResponseStatus
	if len(b) > 0 && (b[0] == '{' || json.Valid(b)) {
		return s, json.Unmarshal(b, &s)
	}
	return s, xml.Unmarshal(b, &s)
}

// UserSearchCond is the body of POST /ISAPI/AccessControl/UserInfo/Search:
// a page of the persons on file, from position, at most max.
type UserSearchCond struct {
	UserInfoSearchCond struct {
		SearchID             string `json:"searchID"`
		SearchResultPosition int    `json:"searchResultPosition"`
		MaxResults           int    `json:"maxResults"`
	} `json:"UserInfoSearchCond"`
}

// UserSearch is a page of the search's answer. ResponseStatusStrg is
// "OK" (the last page), "MORE" or "NO MATCH".
type UserSearch struct {
	SearchID           string     `json:"searchID"`
	ResponseStatusStrg string     `json:"responseStatusStrg"`
	NumOfMatches       int        `json:"numOfMatches"`
	TotalMatches       int        `json:"totalMatches"`
	UserInfo           []UserInfo `json:"UserInfo,omitempty"`
}

type userSearchBody struct {
	UserInfoSearch UserSearch `json:"UserInfoSearch"`
}

// ParseUserSearch reads a terminal's answer to a person search. A page
// that says it holds more than it carries, a negative count or a person
// without a number is refused: the caller deletes what the terminal
// holds by these numbers.
func ParseUserSearch(b []byte) (UserSearch, error) {
	var s userSearchBody
	if err := json.Unmarshal(b, &s); err != nil {
		return UserSearch{}, fmt.Errorf("isapi: user search: %w", err)
	}
	r := s.UserInfoSearch
	switch r.ResponseStatusStrg {
	case "OK", "MORE", "NO MATCH":
	default:
		return UserSearch{}, fmt.Errorf("isapi: user search: status %q", r.ResponseStatusStrg)
	}
	if r.NumOfMatches < 0 || r.TotalMatches < 0 || r.NumOfMatches != len(r.UserInfo) {
		return UserSearch{}, fmt.Errorf("isapi: user search: %d matches, %d persons", r.NumOfMatches, len(r.UserInfo))
	}
	for _, u := range r.UserInfo {
		if u.EmployeeNo == "" {
			return UserSearch{}, fmt.Errorf("isapi: user search: a person without a number")
		}
	}
	return r, nil
}
