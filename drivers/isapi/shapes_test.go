package isapi

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The JSON and XML documents, as the ISAPI access-control guide spells them.
func TestShapes(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	begin := time.Date(2026, 12, 7, 9, 0, 0, 0, loc)
	u := NewUser("V1001", "Guest", true, begin, begin.Add(8*time.Hour), loc, 1)
	b, _ := json.Marshal(userInfoBody{u})
	want := `{"UserInfo":{"employeeNo":"V1001","name":"Guest","userType":"visitor","Valid":{"enable":true,"beginTime":"2026-12-07T09:00:00","endTime":"2026-12-07T17:00:00","timeType":"local"},"doorRight":"1","RightPlan":[{"doorNo":1,"planTemplateNo":"1"}]}}`
	if string(b) != want {
		t.Errorf("UserInfo\n got %s\nwant %s", b, want)
	}
	var d userDelete
	d.UserInfoDelCond.EmployeeNoList = []employeeNo{{"V1001"}}
	if b, _ := json.Marshal(d); string(b) != `{"UserInfoDelCond":{"EmployeeNoList":[{"employeeNo":"V1001"}]}}` {
		t.Errorf("delete %s", b)
	}
	b, _ = xml.Marshal(RemoteControlDoor{XMLNS: Namespace, Version: "2.0", Cmd: "open"})
	if string(b) != `<RemoteControlDoor xmlns="http://www.isapi.org/ver20/XMLSchema" version="2.0"><cmd>open</cmd></RemoteControlDoor>` {
		t.Errorf("door %s", b)
	}
	target, _ := url.Parse("http://192.168.1.10:8080/isapi/events/dev/tok")
	h, err := HostFor(target)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = xml.Marshal(HTTPHostList{Hosts: []HTTPHost{h}})
	if string(b) != `<HttpHostNotificationList><HttpHostNotification><id>1</id><url>/isapi/events/dev/tok</url><protocolType>HTTP</protocolType>`+
		`<parameterFormatType>JSON</parameterFormatType><addressingFormatType>ipaddress</addressingFormatType><ipAddress>192.168.1.10</ipAddress>`+
		`<portNo>8080</portNo><httpAuthenticationMethod>none</httpAuthenticationMethod></HttpHostNotification></HttpHostNotificationList>` {
		t.Errorf("httpHosts %s", b)
	}
	ct, body := FaceBody("V1001", []byte{0xFF, 0xD8, 0xFF, 0xD9})
	_, params, _ := mime.ParseMediaType(ct)
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	p, _ := mr.NextPart()
	meta, _ := io.ReadAll(p)
	if p.FormName() != "FaceDataRecord" || string(meta) != `{"faceLibType":"blackFD","FDID":"1","FPID":"V1001"}` {
		t.Errorf("face meta %s %s", p.FormName(), meta)
	}
	p, _ = mr.NextPart()
	if p.Header.Get("Content-Type") != "image/jpeg" {
		t.Errorf("face image part %v", p.Header)
	}
	// A ResponseStatus in each of its spellings.
	for _, s := range []string{`{"statusCode":1,"statusString":"OK","subStatusCode":"ok"}`,
		`<?xml version="1.0" encoding="UTF-8"?><ResponseStatus version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema"><requestURL>/ISAPI/AccessControl/RemoteControl/door/1</requestURL><statusCode>1</statusCode><statusString>OK</statusString><subStatusCode>ok</subStatusCode></ResponseStatus>`} {
		st, err := decodeStatus("", []byte(s))
		if err != nil || st.StatusCode != 1 || st.SubStatusCode != "ok" {
			t.Errorf("%s: %+v %v", s, st, err)
		}
	}
}

// A pushed face event, as terminals send it: multipart with event_log
// and the captured picture.
const eventJSON = `{"ipAddress":"192.168.1.64","portNo":80,"protocol":"HTTP","macAddress":"24:0f:9b:00:00:01","channelID":1,` +
	`"dateTime":"2026-12-07T09:12:30+08:00","activePostCount":1,"eventType":"AccessControllerEvent","eventState":"active",` +
	`"eventDescription":"Access Controller Event","AccessControllerEvent":{"deviceName":"Access Controller","majorEventType":5,` +
	`"subEventType":75,"name":"Guest","cardReaderNo":1,"employeeNoString":"V1001","serialNo":418,"userType":"visitor",` +
	`"currentVerifyMode":"cardOrFace","attendanceStatus":"undefined","mask":"no","doorNo":1}}`

func TestParseEvent(t *testing.T) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fw, _ := w.CreateFormField("event_log")
	fw.Write([]byte(eventJSON))
	fw, _ = w.CreateFormFile("Picture", "Picture.jpg")
	fw.Write([]byte{0xFF, 0xD8, 0xFF, 0xD9})
	w.Close()
	e, err := ParseEvent(w.FormDataContentType(), buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 7, 1, 12, 30, 0, time.UTC)
	if !e.FacePassed() || e.EmployeeNo != "V1001" || e.Serial != 418 || e.Door != 1 || !e.At.Equal(at) {
		t.Fatalf("event %+v", e)
	}
	// A bare JSON body (some firmware) and a heartbeat.
	if e, err := ParseEvent("application/json", []byte(eventJSON)); err != nil || !e.FacePassed() {
		t.Fatalf("bare JSON: %+v %v", e, err)
	}
	if e, err := ParseEvent("application/json", []byte(`{"eventType":"heartBeat","dateTime":"2026-12-07T09:12:30+08:00"}`)); err != nil || e.FacePassed() {
		t.Fatalf("heartbeat: %+v %v", e, err)
	}
	for _, bad := range []struct{ ct, body string }{
		{"application/json", `{"eventType":`},
		{"application/json", `{}`},
		{"multipart/form-data", "--x\r\n"},
		{"multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"Picture\"\r\n\r\nab\r\n--x--\r\n"},
		{"application/json", strings.Replace(eventJSON, `"V1001"`, `"V10 01"`, 1)},
		{"application/json", strings.Replace(eventJSON, `"subEventType":75`, `"subEventType":"75"`, 1)},
	} {
		if _, err := ParseEvent(bad.ct, []byte(bad.body)); !errors.Is(err, ErrBadEvent) {
			t.Errorf("%q accepted or wrong error: %v", bad.body, err)
		} else if strings.Contains(err.Error(), "V10") {
			t.Errorf("error echoes the body: %v", err)
		}
	}
}

func FuzzEvent(f *testing.F) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	w.SetBoundary("MIME_boundary")
	fw, _ := w.CreateFormField("event_log")
	fw.Write([]byte(eventJSON))
	w.Close()
	f.Add("multipart/form-data; boundary=MIME_boundary", buf.Bytes())
	f.Add("application/json", []byte(eventJSON))
	f.Add("application/json", []byte(`{"eventType":"heartBeat"}`))
	f.Add("text/plain", []byte("\x00\xff"))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		e, err := ParseEvent(ct, body)
		if err != nil {
			if !errors.Is(err, ErrBadEvent) {
				t.Fatalf("error not ErrBadEvent: %v", err)
			}
			return
		}
		if e.Type == "" || len(e.EmployeeNo) > maxEmployeeNo {
			t.Fatalf("accepted %+v", e)
		}
	})
}
