package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/tessera-dev/tessera/services/account/internal/app"
	"github.com/tessera-dev/tessera/services/account/internal/store"
	"github.com/tessera-dev/tessera/services/account/migrations"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/pg"
	"github.com/tessera-dev/tessera/services/platform/pgtest"
)

func newApp(t testing.TB, cfg app.Config) (*app.App, *store.Store) {
	t.Helper()
	sets := []pg.MigrationSet{{Name: "account", Files: migrations.Files}, events.Migrations()}
	url := pgtest.NewDatabase(t, pgtest.Template{Name: pgtest.NameOf("account", sets...), Migrate: func(ctx context.Context, url string) error {
		pool, err := pg.Connect(ctx, url, "account", 2)
		if err != nil {
			return err
		}
		defer pool.Close()
		return pg.Migrate(ctx, pool, "account", sets...)
	}})
	pool, err := pg.Connect(t.Context(), url, "account", 4)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	st := store.New(pool)
	return app.New(st, nil, app.Neighbours{}, cfg), st
}

// TestLogin_SameAnswerSameWork_ACC9: an unknown user, a wrong password, a locked-out
// user with a wrong or the right password and a deactivated user with the right
// password all get the very same refusal (code, reason, message, details), and every
// attempt costs exactly one password hash comparison, so neither the answer nor its
// time tells a guesser anything. The lockout itself still happens and is announced.
func TestLogin_SameAnswerSameWork_ACC9(t *testing.T) {
	ctx := t.Context()
	a, st := newApp(t, app.Config{Password: app.PasswordParams{Time: 1, Memory: 64, Threads: 1}, LockoutAfter: 3})
	checks := app.CountPasswordChecks(a)
	_, err := a.CreateTenant(ctx, app.NewTenant{ID: "acme", DisplayName: "Acme", AdminUsername: "admin", AdminEmail: "admin@acme.example", AdminPassword: "Admin-Password-1"})
	require.NoError(t, err)

	// attempt signs in and returns the refusal as callers see it (code, message and
	// every detail), nil for a session.
	attempt := func(user, password string) (*spb.Status, bool) {
		t.Helper()
		before := checks.Load()
		_, err := a.Login(ctx, "acme", user, password)
		require.Equal(t, int64(1), checks.Load()-before, "one hash comparison for %s", user)
		if err == nil {
			return nil, true
		}
		return errs.ToStatus(ctx, err).Proto(), false
	}
	wrong, ok := attempt("admin", "Wrong-Password-1")
	require.False(t, ok)
	require.Equal(t, "LOGIN_FAILED", errs.Reason(status.ErrorProto(wrong)))
	same := func(what string, got *spb.Status) {
		t.Helper()
		require.NotNil(t, got, what)
		require.True(t, proto.Equal(wrong, got), "%s: %v, a wrong password: %v", what, got, wrong)
	}
	unknown, _ := attempt("nobody", "Wrong-Password-1")
	same("an unknown user", unknown)
	_, _ = attempt("admin", "Wrong-Password-1")
	lockout, _ := attempt("admin", "Wrong-Password-1") // the third: locked out now
	same("the attempt that locks the user out", lockout)
	admin, err := st.UserByUsername(ctx, "acme", "admin")
	require.NoError(t, err)
	require.Equal(t, app.UserInactive, admin.Status, "the lockout still happens")
	require.NotNil(t, admin.LockedTime)
	locked, ok := attempt("admin", "Admin-Password-1")
	require.False(t, ok, "the right password opens nothing once locked out")
	same("a locked user with the right password", locked)
	lockedWrong, _ := attempt("admin", "Wrong-Password-1")
	same("a locked user with a wrong password", lockedWrong)

	// After reactivation the right password works again.
	_, err = st.Reactivate(ctx, "acme", admin.ID, "")
	require.NoError(t, err)
	_, ok = attempt("admin", "Admin-Password-1")
	require.True(t, ok)
}

// BenchmarkLoginRefusals measures the refusals side by side at the default password
// cost: an unknown user, a wrong password and a locked-out user with the right one.
// Each reports its time as a ratio to one raw argon2id comparison measured in the same
// run (the physical floor of every attempt), so equal ratios mean equal timing.
func BenchmarkLoginRefusals(b *testing.B) {
	ctx := b.Context()
	a, st := newApp(b, app.Config{LockoutAfter: 1})
	_, err := a.CreateTenant(ctx, app.NewTenant{ID: "acme", DisplayName: "Acme", AdminUsername: "admin", AdminEmail: "admin@acme.example", AdminPassword: "Admin-Password-1"})
	require.NoError(b, err)
	locked, err := st.CreateUser(ctx, "acme", app.User{
		ID: "USR-LOCKED", Username: "locked", FirstName: "L", LastName: "L", Email: "l@acme.example",
		Type: app.AccountProducer, Status: app.UserActive, PasswordHash: mustHash(b, "Locked-Password-1"), CanLogin: true,
		Memberships: []app.Membership{{AccountID: app.HomeAccountID, Roles: []string{"producer_admin"}}},
	})
	require.NoError(b, err)
	_, err = a.Login(ctx, "acme", locked.Username, "Wrong-Password-1") // locks it out
	require.Error(b, err)
	hash := mustHash(b, "Admin-Password-1")
	start := time.Now()
	for range 20 {
		app.CheckPassword(hash, "Admin-Password-1")
	}
	floor := float64(time.Since(start)) / 20
	for _, c := range []struct{ name, user, password string }{
		{"unknown", "nobody", "Wrong-Password-1"},
		{"wrong", "admin", "Wrong-Password-1"},
		{"locked_right", "locked", "Locked-Password-1"},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				_, err := a.Login(ctx, "acme", c.user, c.password)
				require.Error(b, err)
			}
			b.ReportMetric(float64(b.Elapsed())/float64(b.N)/floor, "x_argon2")
		})
	}
}

func mustHash(tb testing.TB, password string) string {
	tb.Helper()
	h, err := app.HashPassword(app.DefaultPasswordParams, password)
	require.NoError(tb, err)
	return h
}
