// Package e2e holds the end-to-end tests and benchmarks of the lobby's
// device loop: simulated devices on pseudo-terminals, the real drivers on
// the terminals' paths, and the real appliance (store, access decisions,
// visits) deciding. There is no code here outside the tests.
//
//	go test ./drivers/e2e/                                            # the loops, about 5 s
//	go test -run '^$' -bench Latency -benchtime 10000x ./drivers/e2e/ # wire-to-relay latency
//	go test -run '^$' -bench CPU -benchtime 1x ./drivers/e2e/         # CP polling 8 readers
//
// The glue between a decision and a lane's relay for OSDP lanes, and
// between a QR decision and the lane's reader lights, lives in the tests
// (see rig_test.go) until drivers/runner provides it.
package e2e
