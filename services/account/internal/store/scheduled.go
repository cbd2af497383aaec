package store

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tessera-dev/tessera/services/account/internal/app"
	"github.com/tessera-dev/tessera/services/platform/errs"
)

// CreatePartnerCustomer stores a customer account under its partner, its
// administrator and the job of its account-creation email in one transaction. A retry
// of the same request returns what the first made, with created=false.
func (s *Store) CreatePartnerCustomer(ctx context.Context, tenant string, acc app.Account, parent string, admin app.User, sendAt time.Time) (app.PartnerCustomer, bool, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := createAccount(ctx, tx, tenant, acc, parent); err != nil {
			return err
		}
		if err := insertUser(ctx, tx, tenant, admin); err != nil {
			if errs.IsKind(err, errs.KindAlreadyExists) {
				return errs.AlreadyExists("user", admin.Username)
			}
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO scheduled_emails (id, tenant_id, kind, user_id, account_id, send_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			uuid.Must(uuid.NewV7()), tenant, app.EmailAccountCreated, admin.ID, acc.ID, sendAt)
		return err
	})
	prev, retried, err := s.accountCreateErr(ctx, tenant, acc, err)
	if err != nil {
		return app.PartnerCustomer{}, false, err
	}
	if retried {
		acc.ID = prev.ID
	}
	out := app.PartnerCustomer{}
	if out.Account, err = s.GetAccount(ctx, tenant, acc.ID); err != nil {
		return out, false, err
	}
	if out.Admin, err = s.GetUser(ctx, tenant, admin.ID); err != nil {
		return out, false, err
	}
	err = s.pool.QueryRow(ctx, `SELECT send_at FROM scheduled_emails WHERE tenant_id = $1 AND account_id = $2 AND kind = $3`,
		tenant, acc.ID, app.EmailAccountCreated).Scan(&out.EmailTime)
	return out, !retried, err
}

// LeaseDueEmails takes up to limit emails whose time has come and that nobody holds,
// and holds them for lease; an email whose sender died is taken again once its lease
// runs out.
func (s *Store) LeaseDueEmails(ctx context.Context, lease time.Duration, limit int) ([]app.ScheduledEmail, error) {
	rows, err := s.pool.Query(ctx, `UPDATE scheduled_emails SET lease_until = now() + $1::interval, attempts = attempts + 1
		WHERE id IN (SELECT id FROM scheduled_emails
			WHERE sent_at IS NULL AND send_at <= now() AND (lease_until IS NULL OR lease_until < now())
			ORDER BY send_at LIMIT $2 FOR UPDATE SKIP LOCKED)
		RETURNING id, tenant_id, kind, user_id, account_id, send_at, attempts`, lease, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.ScheduledEmail, error) {
		var e app.ScheduledEmail
		err := r.Scan(&e.ID, &e.TenantID, &e.Kind, &e.UserID, &e.AccountID, &e.SendAt, &e.Attempts)
		return e, err
	})
}

// MarkEmailSent records that an email went out.
func (s *Store) MarkEmailSent(ctx context.Context, id uuid.UUID) error {
	_, err := s.pool.Exec(ctx, `UPDATE scheduled_emails SET sent_at = now(), lease_until = NULL, last_error = '' WHERE id = $1`, id)
	return err
}

// MarkEmailFailed records why an email could not go out and when to try again.
func (s *Store) MarkEmailFailed(ctx context.Context, id uuid.UUID, reason string, retryAt time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE scheduled_emails SET lease_until = $2, last_error = $3 WHERE id = $1`, id, retryAt, reason)
	return err
}

// PlanDigests schedules day's expiring-entitlement digest, due now, for every active
// user of every tenant who opted in and has none planned for that day yet.
func (s *Store) PlanDigests(ctx context.Context, day time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO scheduled_emails (id, tenant_id, kind, user_id, account_id, send_at, digest_day)
		SELECT gen_random_uuid(), u.tenant_id, 'expiring_digest', u.id, '', now(), $1::date FROM users u
		WHERE u.expiring_email AND u.status = 'active' AND u.can_login
		ON CONFLICT (tenant_id, user_id, digest_day) WHERE kind = 'expiring_digest' DO NOTHING`, day)
	return err
}
