package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/license/internal/app"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/seats"
)

const jobCols = `tenant_id, id, kind, state, params, request_id, user_id, done, total, error, created, attempts, created_at, updated_at`

func scanJob(row pgx.Row) (app.Job, error) {
	var j app.Job
	err := row.Scan(&j.TenantID, &j.ID, &j.Kind, &j.State, &j.Params, &j.RequestID, &j.UserID, &j.Done, &j.Total, &j.Error, &j.Created, &j.Attempts, &j.CreateTime, &j.UpdateTime)
	return j, err
}

// CreateJob stores a queued job; a request ID used before returns that job.
func (s *Store) CreateJob(ctx context.Context, tenant string, j app.Job) (app.Job, error) {
	_, err := s.pool.Exec(ctx, `INSERT INTO jobs (tenant_id, id, kind, state, params, request_id, user_id) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (tenant_id, request_id) DO NOTHING`, tenant, j.ID, j.Kind, j.State, j.Params, j.RequestID, j.UserID)
	if err != nil {
		return app.Job{}, err
	}
	return scanJob(s.pool.QueryRow(ctx, `SELECT `+jobCols+` FROM jobs WHERE tenant_id = $1 AND request_id = $2`, tenant, j.RequestID))
}

// GetJob reads one job.
func (s *Store) GetJob(ctx context.Context, tenant, id string) (app.Job, error) {
	j, err := scanJob(s.pool.QueryRow(ctx, `SELECT `+jobCols+` FROM jobs WHERE tenant_id = $1 AND id = $2`, tenant, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return j, errs.NotFound("job", id)
	}
	return j, err
}

// ClaimJob leases the oldest open job whose lease ran out, of any tenant.
func (s *Store) ClaimJob(ctx context.Context, lease time.Duration) (app.Job, bool, error) {
	j, err := scanJob(s.pool.QueryRow(ctx, `UPDATE jobs SET state = 'running', attempts = attempts + 1, updated_at = now(),
			locked_until = now() + make_interval(secs => $1)
		WHERE (tenant_id, id) = (SELECT tenant_id, id FROM jobs WHERE state IN ('queued', 'running') AND locked_until < now()
			ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING `+jobCols, lease.Seconds()))
	if errors.Is(err, pgx.ErrNoRows) {
		return j, false, nil
	}
	return j, err == nil, err
}

// SetJobTotal records how many steps a job has.
func (s *Store) SetJobTotal(ctx context.Context, tenant, id string, total int) error {
	_, err := s.pool.Exec(ctx, `UPDATE jobs SET total = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2`, tenant, id, total)
	return err
}

// FinishJob records a job's outcome; a job to retry stays running with its lease
// set to the retry time.
func (s *Store) FinishJob(ctx context.Context, tenant, id, state, errText string, retryIn time.Duration) error {
	_, err := s.pool.Exec(ctx, `UPDATE jobs SET state = $3, error = $4, updated_at = now(), locked_until = now() + make_interval(secs => $5)
		WHERE tenant_id = $1 AND id = $2`, tenant, id, state, errText, retryIn.Seconds())
	return err
}

// ApplyTransfer marks a fulfillment TRANSFER and stores its successor in the other
// account with the adopted seat claim and the job's progress, in one transaction. A
// fulfillment no longer MASTER (the step was done before) changes nothing.
func (s *Store) ApplyTransfer(ctx context.Context, tenant, jobID string, f, next app.Fulfillment, claim seats.Claim) (bool, error) {
	applied := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var support string
		if err := tx.QueryRow(ctx, `SELECT support_type FROM fulfillments WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenant, f.ID).Scan(&support); err != nil {
			return err
		}
		if support != app.SupportMaster {
			return nil
		}
		applied = true
		if _, err := tx.Exec(ctx, `UPDATE fulfillments SET support_type = $3, state = $4, updated_at = now() WHERE tenant_id = $1 AND id = $2`,
			tenant, f.ID, f.SupportType, f.State); err != nil {
			return err
		}
		if err := seats.Adopt(ctx, tx, claim); err != nil {
			return err
		}
		if err := retireConsolidatedOf(ctx, tx, tenant, []string{f.ID}); err != nil {
			return err
		}
		if err := insertFulfillment(ctx, tx, tenant, next); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE jobs SET done = done + 1, created = array_append(created, $3), updated_at = now() WHERE tenant_id = $1 AND id = $2`,
			tenant, jobID, next.ID); err != nil {
			return err
		}
		_, err := events.Write(ctx, tx, events.Subject("license", "fulfillment", "transferred"), tenant, &eventspb.FulfillmentReplaced{
			FulfillmentId: f.ID, ActivationId: f.ActivationID, AccountId: f.AccountID, CreatedIds: []string{next.ID},
		})
		return err
	})
	return applied && err == nil, err
}
