// Command composecheck loads a Compose file with compose-go, the loader Docker Compose
// itself uses, and prints the resolved project as YAML, what `docker compose config`
// prints, without a Docker engine. tests/deploy builds and runs it; a file Compose
// would refuse (schema, interpolation, references) makes it exit 1 with the reason.
//
//	composecheck docker-compose.yml
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(files []string) error {
	options, err := cli.NewProjectOptions(files, cli.WithOsEnv, cli.WithConsistency(true))
	if err != nil {
		return err
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		return err
	}
	out, err := project.MarshalYAML()
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(out)
	return err
}
