package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/mail"
)

// EmailExpiringDigest is the scheduled email kind of the daily digest (SPEC ENT-9).
const EmailExpiringDigest = "expiring_digest"

// ExpiringItem is one line of a digest.
type ExpiringItem struct {
	ActivationID, ProductID, AccountName, Kind string
	EndTime                                    time.Time
	DaysRemaining                              int64
}

// Expiring is what the digest needs of the entitlement service: what of the
// accounts ends within days.
type Expiring interface {
	ExpiringFor(ctx context.Context, accountIDs []string, days int) ([]ExpiringItem, error)
}

// digestWindow is how far ahead a digest looks.
const digestWindow = 30

// planDigests schedules today's digest for every user who opted in, once the day's
// digest hour has come; the unique index makes planning idempotent across workers
// and restarts.
func (a *App) planDigests(ctx context.Context) error {
	if a.cfg.DigestHour < 0 {
		return nil
	}
	now := a.now().UTC()
	if now.Hour() < a.cfg.DigestHour {
		return nil
	}
	if err := a.store.PlanDigests(ctx, now.Truncate(24*time.Hour)); err != nil {
		return err
	}
	return nil
}

// sendDigest mails a user what of their accounts ends within digestWindow days; a
// user with nothing ending gets no email.
func (a *App) sendDigest(ctx context.Context, j ScheduledEmail) error {
	ctx = authz.ForTenant(ctx, j.TenantID)
	u, to, err := a.notifiable(ctx, j.TenantID, j.UserID)
	if err != nil || len(to) == 0 || !u.ExpiringEmail {
		return err
	}
	accounts := make([]string, 0, len(u.Memberships))
	for _, m := range u.Memberships {
		accounts = append(accounts, m.AccountID)
	}
	items, err := a.expiring.ExpiringFor(ctx, accounts, digestWindow)
	if err != nil || len(items) == 0 {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Hello %s %s,\n\nthese end within %d days:\n\n", u.FirstName, u.LastName, digestWindow)
	for _, it := range items {
		fmt.Fprintf(&b, "  %s  %-12s %s (%s) for %s, %d days\n", it.EndTime.Format(time.DateOnly), it.Kind, it.ActivationID, it.ProductID, it.AccountName, it.DaysRemaining)
	}
	b.WriteString("\nYou get this digest because you subscribed to expiring-entitlement emails.\n")
	return a.mailer.Send(ctx, mail.Message{To: to, Subject: fmt.Sprintf("%d entitlements end soon", len(items)), Text: b.String()})
}
