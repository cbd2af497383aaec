package config

import (
	"flag"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestApplyEnv(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	url := fs.String("database-url", "default", "")
	level := fs.String("log-level", "info", "")
	n := fs.Int("max-conns", 4, "")
	t.Setenv("TESSERA_DATABASE_URL", "from-env")
	t.Setenv("TESSERA_LOG_LEVEL", "debug")
	require.NoError(t, fs.Parse([]string{"-log-level=warn"}))
	require.NoError(t, ApplyEnv(fs))
	require.Equal(t, "from-env", *url, "the environment fills unset flags")
	require.Equal(t, "warn", *level, "the command line wins")
	require.Equal(t, 4, *n, "defaults stay")

	t.Setenv("TESSERA_MAX_CONNS", "many")
	require.ErrorContains(t, ApplyEnv(fs), "TESSERA_MAX_CONNS")
}
