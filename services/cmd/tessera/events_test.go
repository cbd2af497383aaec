package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/pg"
	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

func readyz(t *testing.T, gateway string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, gateway+"/readyz", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

func runEvents(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := eventsCommand(t.Context(), append([]string{"dead-letters"}, args...), &out)
	return out.String(), err
}

// An event larger than the broker's max_payload (1 MB) written by the account
// service is parked by its running relay: the service reports its events health
// NOT_SERVING while staying SERVING overall, /readyz stays 200 but says degraded,
// and the operator lists, replays (still too large: parked again) and discards it
// with `tessera events dead-letters`, after which the service is healthy again.
func TestDeadLettersCommandAndReadiness(t *testing.T) {
	env := suitetest.Start(t)
	pool, err := pg.Connect(t.Context(), env.DatabaseURL, "account", 2)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	var id string
	require.NoError(t, pgx.BeginFunc(t.Context(), pool, func(tx pgx.Tx) error {
		eventID, err := events.Write(t.Context(), tx, events.Subject("account", "account", "created"), "t1",
			&eventspb.AccountCreated{AccountId: strings.Repeat("n", 1100*1024)})
		id = eventID.String()
		return err
	}))
	list := func() []events.DeadLetter {
		out, err := runEvents(t, "list", "--service", "account", "--database-url", env.DatabaseURL, "-o", "json")
		require.NoError(t, err)
		var parked []events.DeadLetter
		require.NoError(t, json.Unmarshal([]byte(out), &parked))
		return parked
	}
	require.Eventually(t, func() bool { return len(list()) == 1 }, 10*time.Second, 50*time.Millisecond)
	parked := list()
	require.Equal(t, id, parked[0].ID.String())
	require.Equal(t, 1, parked[0].Attempts)
	require.Contains(t, parked[0].Error, "maximum payload exceeded")

	health := healthpb.NewHealthClient(env.Dial(t, "account"))
	eventsHealth := func() healthpb.HealthCheckResponse_ServingStatus {
		resp, err := health.Check(t.Context(), &healthpb.HealthCheckRequest{Service: events.HealthService})
		require.NoError(t, err)
		return resp.GetStatus()
	}
	require.Eventually(t, func() bool { return eventsHealth() == healthpb.HealthCheckResponse_NOT_SERVING }, 15*time.Second, 100*time.Millisecond)
	overall, err := health.Check(t.Context(), &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	require.Equal(t, healthpb.HealthCheckResponse_SERVING, overall.GetStatus(), "a parked event does not take the service out of load balancing")
	code, body := readyz(t, env.Suite.GatewayURL)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "degraded")
	require.Contains(t, body, "account")

	out, err := runEvents(t, "list", "--service", "account", "--database-url", env.DatabaseURL)
	require.NoError(t, err)
	require.Contains(t, out, id)
	require.Contains(t, out, "tessera.account.account.created")

	out, err = runEvents(t, "replay", "--service", "account", "--database-url", env.DatabaseURL, id)
	require.NoError(t, err)
	require.Contains(t, out, "replayed "+id)
	require.Eventually(t, func() bool { p := list(); return len(p) == 1 && p[0].Attempts == 2 }, 10*time.Second, 50*time.Millisecond,
		"the broker still refuses it: parked again")

	out, err = runEvents(t, "discard", "--service", "account", "--database-url", env.DatabaseURL, "--all")
	require.NoError(t, err)
	require.Contains(t, out, "1 event(s) discarded")
	require.Empty(t, list())
	require.Eventually(t, func() bool { return eventsHealth() == healthpb.HealthCheckResponse_SERVING }, 15*time.Second, 100*time.Millisecond)
	code, body = readyz(t, env.Suite.GatewayURL)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "ready\n", body)

	_, err = runEvents(t, "discard", "--service", "account", "--database-url", env.DatabaseURL, id)
	require.ErrorContains(t, err, "not parked: "+id)
}

// The command refuses a command line it cannot act on, before touching the database.
func TestDeadLettersCommandRefusesBadArguments(t *testing.T) {
	url := "postgres://unused"
	for name, args := range map[string][]string{
		"unknown service":  {"list", "--service", "nope", "--database-url", url},
		"no service":       {"list", "--database-url", url},
		"no database":      {"list", "--service", "account", "--database-url", ""},
		"bad output":       {"list", "--service", "account", "--database-url", url, "-o", "yaml"},
		"list with IDs":    {"list", "--service", "account", "--database-url", url, "--all"},
		"replay nothing":   {"replay", "--service", "account", "--database-url", url},
		"both IDs and all": {"discard", "--service", "account", "--database-url", url, "--all", "0190a0a0-0000-7000-8000-000000000000"},
		"not an event ID":  {"discard", "--service", "account", "--database-url", url, "42"},
		"unknown action":   {"purge", "--service", "account", "--database-url", url},
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv("DATABASE_URL", "")
			_, err := runEvents(t, args...)
			require.Error(t, err)
		})
	}
	require.Error(t, eventsCommand(context.Background(), []string{"other"}, io.Discard))
}

// Whatever the command line, checking it never panics, and it names events only
// when it accepted them.
func FuzzDeadLetterTargets(f *testing.F) {
	f.Add("replay", "account", false, "0190a0a0-0000-7000-8000-000000000000")
	f.Add("discard", "license", true, "")
	f.Add("list", "nope", false, "not-a-uuid")
	f.Fuzz(func(t *testing.T, action, service string, all bool, arg string) {
		var args []string
		if arg != "" {
			args = []string{arg}
		}
		ids, err := deadLetterTargets(action, service, "postgres://x", "table", all, args)
		if err != nil {
			require.Nil(t, ids)
			return
		}
		require.Len(t, ids, len(args))
	})
}
