// Command gen writes the generated files of package wire (constants_gen.go,
// methods_gen.go, properties_gen.go) from the spec table. It runs from
// go:generate in amqp/wire:
//
//	go run ./internal/gen -spec spec/amqp0-9-1.json -out .
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/warren-mq/warren/amqp/wire/internal/codegen"
)

func main() {
	specPath := flag.String("spec", "spec/amqp0-9-1.json", "spec table to read")
	outDir := flag.String("out", ".", "directory to write the generated files to")
	flag.Parse()
	if err := run(*specPath, *outDir); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(specPath, outDir string) error {
	data, err := os.ReadFile(specPath)
	if err != nil {
		return err
	}
	spec, err := codegen.Load(data)
	if err != nil {
		return err
	}
	files, err := codegen.Generate(spec)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(outDir, f.Name), f.Source, 0o644); err != nil {
			return err
		}
	}
	return nil
}
