// Package config fills typed configuration from flags and TESSERA_* environment
// variables: a flag given on the command line wins over the environment, which wins
// over the default.
package config

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

// EnvName is the environment variable of a flag: "database-url" → TESSERA_DATABASE_URL.
func EnvName(flagName string) string {
	return "TESSERA_" + strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(flagName))
}

// ApplyEnv sets every flag of fs that was not given on the command line from its
// environment variable, if that is set. Call it after fs.Parse.
func ApplyEnv(fs *flag.FlagSet) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		if v, ok := os.LookupEnv(EnvName(f.Name)); ok {
			if setErr := fs.Set(f.Name, v); setErr != nil {
				err = fmt.Errorf("config: %s=%q: %w", EnvName(f.Name), v, setErr)
			}
		}
	})
	return err
}
