// Package isapi drives lobby face-recognition terminals through Hikvision's
// ISAPI access-control interface over HTTP on the LAN: persons and their
// validity (UserInfo), face pictures (FDLib), remote door opening
// (RemoteControl/door) and the events the terminal pushes to a listening
// host (Event/notification/httpHosts). Authentication is HTTP Digest
// (RFC 7616, MD5 or SHA-256, qop=auth), implemented here in digest.go: no
// digest client is among the modules the project may use, and it is 150
// lines.
//
// The shapes come from Hikvision's public "ISAPI Developer Guide — Access
// Control" (the sections on person management, face data, event
// notification and remote door control) as integrators use them in public
// code; the ones this package relies on:
//
//	GET  /ISAPI/System/deviceInfo                          XML DeviceInfo
//	POST /ISAPI/AccessControl/UserInfo/Record?format=json  {"UserInfo":{employeeNo,name,userType,Valid{enable,beginTime,endTime}}}
//	PUT  /ISAPI/AccessControl/UserInfo/Modify?format=json  the same, for a person on file
//	PUT  /ISAPI/AccessControl/UserInfo/Delete?format=json  {"UserInfoDelCond":{"EmployeeNoList":[{"employeeNo":…}]}}
//	POST /ISAPI/Intelligent/FDLib/FaceDataRecord?format=json multipart: "FaceDataRecord" {faceLibType:"blackFD",FDID:"1",FPID:employeeNo} + the JPEG
//	PUT  /ISAPI/Event/notification/httpHosts               XML HttpHostNotificationList (where to push, JSON events)
//	PUT  /ISAPI/AccessControl/RemoteControl/door/<n>       XML <RemoteControlDoor><cmd>open</cmd></RemoteControlDoor>
//	pushed: POST <our url>, multipart/form-data, part "event_log" (JSON
//	  EventNotificationAlert with "AccessControllerEvent":{majorEventType 5,
//	  subEventType 75 = face authentication passed, employeeNoString, …}),
//	  usually with a "Picture" part (the captured face), which is dropped.
//
// Public code consulted for the field names (reference only, nothing
// copied): GitHub Shaykhnazar/hikvision-isapi (src/Services/
// EventNotificationService.php, AccessControlService.php: httpHosts and
// RemoteControl/door), integrators' FaceDataRecord uploads (multipart with
// a "FaceDataRecord" JSON part and the image part) and event receivers
// parsing the multipart "event_log" part; the TypeScript AccessControllerEvent
// declarations (majorEventType, subEventType, employeeNoString, serialNo,
// currentVerifyMode). Digest: RFC 7616 §3.4 and the example of §3.9.1.
//
// What is not confirmed against a terminal here: firmware differences in
// which part name carries the image (we send "img", the name most
// integrators use) and whether a given model pushes JSON or XML when
// parameterFormatType is JSON (we ask for JSON and parse JSON only).
package isapi
