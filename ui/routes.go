package ui

import (
	"github.com/labstack/echo/v4"

	"gatehouse/appliance/access"
	"gatehouse/appliance/auth"
	"gatehouse/appliance/notice"
)

// Who may use a route.
var (
	public    []auth.Role // anyone, signed in or not
	anyone    = []auth.Role{auth.Admin, auth.Manager, auth.Reception, auth.Host}
	staff     = []auth.Role{auth.Admin, auth.Manager, auth.Reception}
	directors = []auth.Role{auth.Admin, auth.Manager}
	admins    = []auth.Role{auth.Admin}
	hosts     = []auth.Role{auth.Host}
	kiosk     = []auth.Role{kioskRole} // a tablet with a kiosk cookie, no account
)

type route struct {
	method string
	path   string
	roles  []auth.Role // nil: public
	h      echo.HandlerFunc
}

// routeTable lists every route with the roles allowed on it. It is the one
// place to read who may do what; routes_test.go checks it against a table of
// its own.
func (s *Server) routeTable() []route {
	return []route{
		{"GET", "/healthz", public, s.health},
		{"GET", metricsPath, admins, s.metrics}, // or from loopback without a token: metrics.go
		{"GET", "/static/*", public, echo.WrapHandler(s.assets)},
		{"GET", "/login", public, s.loginPage},
		{"POST", "/login", public, s.login},
		{"GET", "/signup", public, s.signupPage},
		{"POST", "/signup", public, s.signupStart},
		{"POST", "/signup/verify", public, s.signupVerify},
		{"POST", "/lang", public, s.setLang},
		{"GET", "/events.js", public, s.eventsJS},
		// Face terminals' pushed events: the path's secret is the credential.
		{"POST", "/isapi/events/:id/:token", public, s.isapiEvent},

		{"GET", "/book", public, s.bookPage},
		{"POST", "/book", public, s.book},
		{"POST", "/book/verify", public, s.bookVerify},
		{"POST", "/book/resend", public, s.bookResend},
		{"GET", "/book/hosts", public, s.bookHosts},
		{"GET", "/v/:token", public, s.visitStatus},
		{"GET", "/v/:token/live", public, s.visitStatusLive},
		{"GET", "/v/:token/pass.png", public, s.visitPassPNG},

		{"GET", "/kiosk", kiosk, s.kioskHome},
		{"GET", "/kiosk/register", kiosk, s.kioskRegisterPage},
		{"POST", "/kiosk/register", kiosk, s.kioskRegister},
		{"GET", "/kiosk/hosts", kiosk, s.kioskHosts},
		{"GET", "/kiosk/wait/:token", kiosk, s.kioskWait},
		{"POST", "/kiosk/start", staff, s.kioskStart},

		{"POST", "/logout", anyone, s.logout},
		{"GET", "/", anyone, s.home},
		{"GET", "/account/password", anyone, s.passwordPage},
		{"GET", "/my/pass", anyone, s.myPass},
		{"POST", "/my/pass", anyone, s.myPassIssue},
		{"POST", "/account/password", anyone, s.changePassword},
		{"GET", "/events", anyone, s.events},

		{"GET", "/host/visits", hosts, s.hostVisits},
		{"GET", "/host/visits/:id", hosts, s.hostRequest},
		{"GET", "/account/notify", hosts, s.hostProfile},
		{"POST", "/account/notify", hosts, s.hostProfileSave},
		{"POST", "/host/visits/:id/approve", hosts, s.hostDecide(true)},
		{"POST", "/host/visits/:id/reject", hosts, s.hostDecide(false)},
		{"GET", "/guard", staff, s.guard},
		{"GET", "/guard/stream", staff, s.guardStream},
		{"GET", "/guard/muster", staff, s.muster},
		{"GET", "/flow", staff, s.flow},
		{"GET", "/flow/live", staff, s.flowLive},
		{"GET", "/reports", directors, s.reports},
		{"GET", "/reports.csv", directors, s.reportExport(formatCSV)},
		{"GET", "/reports.xlsx", directors, s.reportExport(formatXLSX)},
		{"GET", "/reports.pdf", directors, s.reportExport("pdf")},
		{"GET", "/reports/attendance", directors, s.attendance},
		{"GET", "/reports/attendance.csv", directors, s.attendanceExport(formatCSV)},
		{"GET", "/reports/attendance.xlsx", directors, s.attendanceExport(formatXLSX)},
		{"POST", "/guard/open", staff, s.guardOpen},
		{"POST", "/guard/admit", staff, s.guardAdmit},
		{"POST", "/guard/alarms/:id/ack", staff, s.guardAck},
		{"GET", "/desk/today", staff, s.today},
		{"GET", "/desk/records", staff, s.records},
		{"GET", "/desk/records.csv", staff, s.recordsExport(formatCSV)},
		{"GET", "/desk/records.xlsx", staff, s.recordsExport(formatXLSX)},
		{"GET", "/desk/visitors", staff, s.visitors},
		{"GET", "/desk/visitors.csv", staff, s.visitorsExport(formatCSV)},
		{"GET", "/desk/visitors.xlsx", staff, s.visitorsExport(formatXLSX)},
		{"GET", "/desk/visits/:id/history", staff, s.visitorHistory},
		{"GET", "/desk/walkin", staff, s.walkInPage},
		{"POST", "/desk/walkin", staff, s.walkIn},
		{"GET", "/desk/hosts", staff, s.deskHosts},
		{"POST", "/desk/walkin/document", staff, s.walkInDocument},
		{"GET", "/desk/walkin/reads", staff, s.walkInReads},
		{"GET", "/desk/visits/:id", staff, s.deskVisit},
		{"POST", "/desk/visits/:id/admit", staff, s.deskAdmit},
		{"POST", "/desk/visits/:id/checkout", staff, s.deskCheckOut},
		{"POST", "/desk/visits/:id/badge", staff, s.badgeIssue},
		{"POST", "/desk/visits/:id/badge-return", staff, s.badgeReturn},
		{"POST", "/desk/visits/:id/resend", staff, s.resendPass},
		{"POST", "/desk/visits/:id/slip", staff, s.printSlip},
		{"POST", "/desk/visits/:id/face/withdraw", staff, s.visitFaceWithdraw},
		{"GET", "/desk/visits/:id/photo", staff, s.visitPhoto},
		{"GET", "/desk/today.csv", staff, s.todayExport(formatCSV)},
		{"GET", "/desk/today.xlsx", staff, s.todayExport(formatXLSX)},
		{"GET", "/desk/conferences", staff, s.conferenceList},
		{"GET", "/desk/conferences/new", staff, s.conferenceNew},
		{"POST", "/desk/conferences", staff, s.conferenceCreate},
		{"GET", "/desk/conferences/:id", staff, s.conferenceShow},
		{"GET", "/desk/conferences/:id/register", staff, s.conferenceRegisterPage},
		{"POST", "/desk/conferences/:id/register", staff, s.conferenceRegister},
		{"GET", "/desk/conferences/:id/passes.pdf", staff, s.conferencePasses},
		{"GET", "/desk/conferences/:id/attendees.csv", staff, s.conferenceExport(formatCSV)},
		{"GET", "/desk/conferences/:id/attendees.xlsx", staff, s.conferenceExport(formatXLSX)},
		{"GET", "/host/invite", hosts, s.invitePage},
		{"POST", "/host/invite", hosts, s.invite},
		{"GET", "/screening", staff, s.screening},
		{"POST", "/screening", directors, s.screeningAdd},
		{"POST", "/screening/:id/remove", directors, s.screeningRemove},

		{"GET", "/notices", directors, s.noticeList},
		{"GET", "/notices/new", directors, s.noticeNew},
		{"POST", "/notices", directors, s.noticeCreate},
		{"POST", "/notices/images", directors, s.noticeImageUpload},
		{"GET", "/notices/images/:id", public, s.noticeImage},
		{"GET", "/notices/:id/edit", directors, s.noticeEdit},
		{"POST", "/notices/:id", directors, s.noticeUpdate},
		{"POST", "/notices/:id/publish", directors, s.noticeChange(notice.CmdPublish, "flash.notice_published")},
		{"POST", "/notices/:id/unpublish", directors, s.noticeChange(notice.CmdUnpublish, "flash.notice_unpublished")},
		{"POST", "/notices/:id/pin", directors, s.noticeChange(notice.CmdPin, "flash.notice_pinned")},
		{"POST", "/notices/:id/unpin", directors, s.noticeChange(notice.CmdUnpin, "flash.notice_unpinned")},
		{"POST", "/notices/:id/delete", directors, s.noticeChange(notice.CmdDelete, "flash.notice_deleted")},
		{"GET", "/messages", directors, s.messagesPage},
		{"GET", "/messages/recipients", directors, s.messageRecipients},
		{"POST", "/messages", directors, s.messageSend},
		{"POST", "/messages/:id/delete", directors, s.messageDelete},

		{"GET", "/access/zones", directors, s.accessZones},
		{"POST", "/access/zones", directors, s.accessZoneSave},
		{"GET", "/access/lanes", directors, s.accessLanes},
		{"POST", "/access/lanes", directors, s.accessLaneSave},
		{"GET", "/access/groups", directors, s.accessGroups},
		{"POST", "/access/groups", directors, s.accessGroupSave},
		{"GET", "/access/profiles", directors, s.accessProfiles},
		{"POST", "/access/profiles", directors, s.accessProfileSave},
		{"GET", "/access/holidays", directors, s.accessHolidays},
		{"POST", "/access/holidays", directors, s.accessHolidaySave},
		{"POST", "/access/holidays/:id/delete", directors, s.accessHolidayDelete},
		{"GET", "/access/credentials", staff, s.accessCredentials},
		{"GET", "/access/credentials/new", directors, s.credentialNew},
		{"POST", "/access/credentials", directors, s.credentialCreate},
		{"GET", "/access/credentials/enrol-read", directors, s.enrolRead},
		{"GET", "/access/credentials/:id", staff, s.credentialShow},
		{"GET", "/access/credentials/:id/edit", directors, s.credentialEdit},
		{"POST", "/access/credentials/:id", directors, s.credentialUpdate},
		{"POST", "/access/credentials/:id/suspend", staff, s.credentialState(access.StateSuspended)},
		{"POST", "/access/credentials/:id/lost", staff, s.credentialState(access.StateLost)},
		{"POST", "/access/credentials/:id/reactivate", directors, s.credentialState(access.Active)},
		{"POST", "/access/credentials/:id/return", directors, s.credentialState(access.StateReturned)},
		{"POST", "/access/credentials/:id/revoke", directors, s.credentialState(access.StateRevoked)},
		{"POST", "/access/credentials/:id/replace", directors, s.credentialReplace},
		{"POST", "/access/credentials/:id/delete", directors, s.credentialDelete},

		{"GET", "/keys", staff, s.keyRoom},
		{"GET", "/keys/new", directors, s.keyNew},
		{"POST", "/keys", directors, s.keyCreate},
		{"GET", "/keys/register.csv", staff, s.keyRegisterExport(formatCSV)},
		{"GET", "/keys/register.xlsx", staff, s.keyRegisterExport(formatXLSX)},
		{"GET", "/keys/register.pdf", staff, s.keyRegisterExport(formatPDF)},
		{"GET", "/keys/history.csv", staff, s.keyHistoryExport(formatCSV)},
		{"GET", "/keys/history.xlsx", staff, s.keyHistoryExport(formatXLSX)},
		{"GET", "/keys/history.pdf", staff, s.keyHistoryExport(formatPDF)},
		{"GET", "/keys/levels", directors, s.keyLevels},
		{"POST", "/keys/levels", directors, s.keyLevelSave},
		{"GET", "/keys/audits", staff, s.keyAudits},
		{"POST", "/keys/audits", staff, s.keyAuditStart},
		{"GET", "/keys/audits/:id", staff, s.keyAudit},
		{"POST", "/keys/audits/:id/tick", staff, s.keyAuditTick},
		{"POST", "/keys/audits/:id/finish", staff, s.keyAuditFinish},
		{"POST", "/keys/audits/:id/sensors", staff, s.keyAuditSensors},
		{"POST", "/keys/cases/:id/step", directors, s.keyCaseStep},
		{"POST", "/keys/cases/:id/replace", directors, s.keyReplace},
		{"GET", "/keys/:id", staff, s.keyShow},
		{"GET", "/keys/:id/label", staff, s.keyLabel},
		{"GET", "/keys/:id/label.png", staff, s.keyLabelPNG},
		{"POST", "/keys/:id/checkout", staff, s.keyCheckout},
		{"POST", "/keys/:id/return", staff, s.keyReturn},
		{"POST", "/keys/:id/lost", staff, s.keyLost},
		{"POST", "/keys/:id/permissions", directors, s.keyPermissions},
		{"POST", "/keys/:id/sensor", directors, s.keySensor},

		{"GET", "/stock", staff, s.stockHome},
		{"POST", "/stock/receive", staff, s.stockReceive},
		{"POST", "/stock/issue", staff, s.stockIssue},
		{"POST", "/stock/return", staff, s.stockReturn},
		{"POST", "/stock/writeoff", staff, s.stockWriteOff},
		{"GET", "/stock/items/:id", staff, s.stockItem},
		{"POST", "/stock/handovers", staff, s.handoverCreate},
		{"GET", "/stock/handovers/:id", staff, s.handoverShow},
		{"POST", "/stock/handovers/:id/confirm", staff, s.handoverAct(true)},
		{"POST", "/stock/handovers/:id/cancel", staff, s.handoverAct(false)},
		{"GET", "/stock/handovers/:id/sheet.pdf", staff, s.handoverSheet},
		{"GET", "/stock/ledger", staff, s.stockLedger},
		{"GET", "/stock/ledger.csv", staff, s.stockLedgerExport(formatCSV)},
		{"GET", "/stock/ledger.xlsx", staff, s.stockLedgerExport(formatXLSX)},
		{"GET", "/stock/ledger.pdf", staff, s.stockLedgerExport(formatPDF)},
		{"GET", "/stock/reconcile", staff, s.stockReconcile},
		{"POST", "/stock/reconcile", staff, s.stockReconcileSave},
		{"GET", "/stock/reconcile.csv", staff, s.stockReconcileExport(formatCSV)},
		{"GET", "/stock/reconcile.xlsx", staff, s.stockReconcileExport(formatXLSX)},
		{"GET", "/stock/reconcile.pdf", staff, s.stockReconcileExport(formatPDF)},

		{"GET", "/directory/people", staff, s.people},
		{"GET", "/directory/people.csv", staff, s.peopleExport(formatCSV)},
		{"GET", "/directory/people.xlsx", staff, s.peopleExport(formatXLSX)},
		{"GET", "/directory/people/new", directors, s.personNew},
		{"POST", "/directory/people", directors, s.personCreate},
		{"GET", "/directory/people/:id/edit", directors, s.personEdit},
		{"POST", "/directory/people/:id", directors, s.personUpdate},
		{"POST", "/directory/people/:id/active", directors, s.personActive},
		{"POST", "/directory/people/:id/face", directors, s.personFace},
		{"POST", "/directory/people/:id/face/withdraw", directors, s.personFaceWithdraw},
		{"GET", "/directory/companies", staff, s.companies},
		{"GET", "/directory/companies/new", directors, s.companyNew},
		{"POST", "/directory/companies", directors, s.companyCreate},
		{"GET", "/directory/companies/:id/edit", directors, s.companyEdit},
		{"POST", "/directory/companies/:id", directors, s.companyUpdate},
		{"POST", "/directory/companies/:id/active", directors, s.companyActive},
		{"GET", "/directory/floors", staff, s.floors},
		{"POST", "/directory/floors", directors, s.floorSave},
		{"GET", "/directory/import", directors, s.importPage},
		{"POST", "/directory/import", directors, s.importStart},
		{"GET", "/directory/import/template.csv", directors, s.importTemplate},
		{"GET", "/directory/import/:job", directors, s.importStatus},

		{"GET", "/admin/accounts", admins, s.accounts},
		{"GET", "/admin/accounts/new", admins, s.accountNew},
		{"POST", "/admin/accounts", admins, s.accountCreate},
		{"GET", "/admin/accounts/:id/edit", admins, s.accountEdit},
		{"POST", "/admin/accounts/:id", admins, s.accountUpdate},
		{"POST", "/admin/accounts/:id/unlock", admins, s.accountUnlock},
		{"POST", "/admin/accounts/:id/password", admins, s.accountPassword},
		{"GET", "/admin/tokens", admins, s.tokens},
		{"POST", "/admin/tokens", admins, s.tokenCreate},
		{"POST", "/admin/tokens/:id/revoke", admins, s.tokenRevoke},
		{"GET", "/admin/audit", admins, s.audit},
		{"GET", "/admin/audit.csv", admins, s.auditExport(formatCSV)},
		{"GET", "/admin/audit.xlsx", admins, s.auditExport(formatXLSX)},
		{"POST", "/admin/audit/verify", admins, s.auditVerify},
		{"GET", "/admin/devices", admins, s.devicesPage},
		{"GET", "/admin/devices/new", admins, s.deviceNew},
		{"POST", "/admin/devices", admins, s.deviceCreate},
		{"GET", "/admin/devices/:id/edit", admins, s.deviceEdit},
		{"POST", "/admin/devices/:id", admins, s.deviceUpdate},
		{"POST", "/admin/devices/:id/delete", admins, s.deviceDelete},
		{"POST", "/admin/devices/:id/test", admins, s.deviceTest},
		{"POST", "/admin/devices/:id/key", admins, s.deviceKey},
		{"GET", "/admin/devices/sim", admins, s.devicesSim},
		{"POST", "/admin/devices/sim/present", admins, s.simPresent},
		{"POST", "/admin/devices/sim/visitor", admins, s.simVisitor},
		{"POST", "/admin/devices/sim/door", admins, s.simDoor},
		{"POST", "/admin/devices/sim/slot", admins, s.simSlot},
		{"POST", "/admin/devices/sim/face", admins, s.simFace},
		{"GET", "/admin/notify", admins, s.notifyPage},
		{"POST", "/admin/notify", admins, s.notifySave},
		{"POST", "/admin/notify/test", admins, s.notifyTest},
		{"POST", "/admin/notify/:id/retry", admins, s.notifyRetry},
		{"GET", "/admin/cluster", admins, s.clusterPage},
		{"POST", "/admin/cluster/token", admins, s.clusterToken},
		{"POST", "/admin/cluster/remove", admins, s.clusterRemove},
		{"GET", "/admin/backups", admins, s.backupPage},
		{"POST", "/admin/backups", admins, s.backupSave},
		{"POST", "/admin/backups/passphrase", admins, s.backupPassphrase},
		{"POST", "/admin/backups/run", admins, s.backupRun},
		{"GET", "/admin/backups/progress", admins, s.backupProgress},
		{"GET", "/admin/backups/file/:name", admins, s.backupFile},
		{"GET", "/admin/settings", admins, s.settingsPage},
		{"POST", "/admin/settings", admins, s.settingsSave},
		{"POST", "/admin/settings/map", admins, s.settingsMap},

		// JSON API for HR and CRM systems: bearer tokens, never cookies.
		{"GET", "/api/v1/floors", staff, s.apiFloors},
		{"POST", "/api/v1/floors", directors, s.apiFloorCreate},
		{"GET", "/api/v1/companies", staff, s.apiCompanies},
		{"POST", "/api/v1/companies", directors, s.apiCompanyCreate},
		{"GET", "/api/v1/companies/:id", staff, s.apiCompany},
		{"PUT", "/api/v1/companies/:id", directors, s.apiCompanyUpdate},
		{"GET", "/api/v1/employees", staff, s.apiEmployees},
		{"POST", "/api/v1/employees", directors, s.apiEmployeeCreate},
		{"GET", "/api/v1/employees/:id", staff, s.apiEmployee},
		{"PUT", "/api/v1/employees/:id", directors, s.apiEmployeeUpdate},
		{"POST", "/api/v1/employees/:id/deactivate", directors, s.apiEmployeeDeactivate},
		{"GET", "/api/v1/visits", staff, s.apiVisits},
		{"POST", "/api/v1/visits", staff, s.apiVisitCreate},
		{"GET", "/api/v1/visits/:id", staff, s.apiVisitGet},
		{"POST", "/api/v1/visits/:id/approve", staff, s.apiVisitDecide(true)},
		{"POST", "/api/v1/visits/:id/reject", staff, s.apiVisitDecide(false)},
	}
}

func (s *Server) routes() {
	for _, r := range s.routeTable() {
		s.roles[r.method+" "+r.path] = r.roles
		var mw []echo.MiddlewareFunc
		switch {
		case r.roles == nil:
		case isKioskRoute(r.roles):
			mw = append(mw, s.kioskOnly)
		case r.path == metricsPath:
			mw = append(mw, s.metricsAllow(r.roles))
		case len(r.path) > 5 && r.path[:5] == "/api/":
			mw = append(mw, s.apiAllow(r.roles))
		default:
			mw = append(mw, s.allow(r.roles))
		}
		s.e.Add(r.method, r.path, r.h, mw...)
	}
}

func isKioskRoute(roles []auth.Role) bool { return len(roles) == 1 && roles[0] == kioskRole }
