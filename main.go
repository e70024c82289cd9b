// Command gatehouse is the lobby appliance: one binary that serves the
// visitor desk, the directory and (in later releases) the gates, cards, keys
// and stock of a building. See README.md.
package main

import (
	"os"
	_ "time/tzdata" // time zones on devices without /usr/share/zoneinfo

	"gatehouse/ui/shell"
)

func main() {
	os.Exit(shell.Main(os.Args[1:], shell.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Environ: os.Environ()}))
}
