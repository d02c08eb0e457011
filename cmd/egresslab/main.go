// Command egresslab reproduces the network causes of the SSPR "Something
// went wrong" failure on loopback. Its code lives in internal/cli.
package main

import (
	"os"

	"github.com/egresslab/egresslab/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}
