package ui

import "gatehouse/appliance/auth"

// landing is where a role's work is, and so where signing in and the
// brand link ("/") take it. The guard and the receptionist are one role
// (DOMAIN.md): the desk's list of today's visitors is their home, the guard
// station one tap away in the Gates group. The property manager starts on
// the day's people flow (light to serve; the reports are beside it). The
// administrator keeps the home page with its first-start checklist, and a
// host their own home page.
func landing(r auth.Role) string {
	switch r {
	case auth.Reception:
		return "/desk/today"
	case auth.Manager:
		return "/flow"
	}
	return "/"
}
