// Package e2e holds the end-to-end tests and benchmarks of the lobby's
// device loop: simulated devices on pseudo-terminals, the real drivers on
// the terminals' paths, and the real appliance (store, access decisions,
// visits) deciding. There is no code here outside the tests.
//
//	go test ./drivers/e2e/      # the loops, a few seconds
//	go test -run '^$' -bench 'Latency(CardToRelay|ScanToRelay)$' -benchtime 10000x ./drivers/e2e/
//	go test -run '^$' -bench Poll50ms -benchtime 10000x ./drivers/e2e/  # 8.5 minutes
//	go test -run '^$' -bench CPU -benchtime 1x ./drivers/e2e/           # CP polling 8 readers
//	go test -run '^$' -bench LatencyLoad -benchtime 1000x -timeout 40m ./drivers/e2e/  # a year of history, quiet and under load
//
// BENCHMARKS.md ("Devices (issue 5)") has the results and what they mean.
//
// The glue between a decision and a lane's relay for OSDP lanes, and
// between a QR decision and the lane's reader lights, lives in the tests
// (see rig_test.go) until drivers/runner provides it.
package e2e
