package suite

import (
	"flag"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestConfigValidate(t *testing.T) {
	valid := func() Config {
		var c Config
		c.BindFlags(flag.NewFlagSet("x", flag.ContinueOnError))
		c.DatabaseURL = "postgres://x"
		c.PrincipalKey = make([]byte, 32)
		c.MasterKey = make([]byte, 32)
		return c
	}
	c := valid()
	require.NoError(t, c.Validate())
	require.Len(t, c.Services, 6, "all services and the gateway by default")

	for name, broken := range map[string]func(*Config){
		"unknown service": func(c *Config) { c.Services = []string{"billing"} },
		"no database":     func(c *Config) { c.DatabaseURL = "" },
		"short key":       func(c *Config) { c.PrincipalKey = []byte("x") },
		"no master key":   func(c *Config) { c.MasterKey = nil },
		"weak operator":   func(c *Config) { c.OperatorToken = "short" },
		"tiny session":    func(c *Config) { c.SessionTTL = 0 },
		"cheap passwords": func(c *Config) { c.ArgonMemoryKiB = 1024 },
		"no argon passes": func(c *Config) { c.ArgonTime = 0 },
	} {
		c := valid()
		broken(&c)
		require.Error(t, c.Validate(), name)
	}
	gw := valid()
	gw.Services, gw.DatabaseURL, gw.MasterKey = []string{"gateway"}, "", nil
	require.NoError(t, gw.Validate(), "a gateway alone needs no database or master key")
}
