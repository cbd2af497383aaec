package app

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/tessera-dev/tessera/services/license/licfile"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/ids"
	"github.com/tessera-dev/tessera/services/platform/seats"
)

// Job states.
const (
	JobQueued    = "queued"
	JobRunning   = "running"
	JobSucceeded = "succeeded"
	JobFailed    = "failed"
)

// Job is a queued piece of work and where it stands.
type Job struct {
	TenantID, ID, Kind, State string
	RequestID, UserID, Error  string
	Done, Total, Attempts     int
	Created                   []string
	Params                    HostTransfer
	CreateTime, UpdateTime    time.Time
}

// HostTransfer is what a host transfer job moves.
type HostTransfer struct {
	AccountID string   `json:"account_id"`
	HostIDs   []string `json:"host_ids"`
	ToAccount string   `json:"to_account"`
	Pool      bool     `json:"pool"`
}

const (
	jobKindHostTransfer = "host_transfer"
	jobLease            = 2 * time.Minute
	jobMaxAttempts      = 5
	maxTransferHosts    = 50
)

// TransferHosts queues the transfer of hosts of an account, with their live
// licenses and the seats behind them, to another account the caller acts for (SPEC
// LIC-10). A retry with the request ID returns the same job.
func (a *App) TransferHosts(ctx context.Context, accountID string, hosts []string, toAccount string, pool bool, requestID string) (Job, error) {
	var v errs.Violations
	if len(hosts) == 0 || len(hosts) > maxTransferHosts {
		v.Add("host_ids", "name 1-%d hosts", maxTransferHosts)
	}
	v.Require("to_account", toAccount)
	if len(requestID) > 128 {
		v.Add("request_id", "must be at most 128 characters")
	}
	if err := v.Err(); err != nil {
		return Job{}, err
	}
	p, _ := authz.FromContext(ctx)
	if !canSeeAccount(ctx, accountID) {
		return Job{}, errs.NotFound("account", accountID)
	}
	if toAccount == accountID || !authz.CanActFor(p, toAccount) {
		return Job{}, errs.Invalid("to_account", "must be another account you act for")
	}
	tenant := p.GetTenantId()
	normal := make([]string, len(hosts))
	for i, h := range hosts {
		parsed, err := licfile.ParseHostID(h, licfile.Rules{RelaxIP: true})
		if err != nil {
			return Job{}, hostIDInvalid(fmt.Sprintf("host_ids[%d]", i), err)
		}
		normal[i] = parsed.String()
		if known, err := a.store.HostKnown(ctx, tenant, accountID, normal[i]); err != nil || !known {
			if err == nil {
				err = errs.NotFound("host", normal[i])
			}
			return Job{}, err
		}
	}
	j, err := a.store.CreateJob(ctx, tenant, Job{
		ID: ids.New("JOB", 3), Kind: jobKindHostTransfer, State: JobQueued, RequestID: orNew(requestID), UserID: p.GetUserId(),
		Params: HostTransfer{AccountID: accountID, HostIDs: normal, ToAccount: toAccount, Pool: pool},
	})
	if err == nil {
		select {
		case a.wakeJobs <- struct{}{}:
		default:
		}
	}
	return j, err
}

// GetJob reads a job the caller may see: one about accounts it may see.
func (a *App) GetJob(ctx context.Context, id string) (Job, error) {
	j, err := a.store.GetJob(ctx, authz.MustTenant(ctx), id)
	if err != nil {
		return j, err
	}
	if !canSeeAccount(ctx, j.Params.AccountID) && !canSeeAccount(ctx, j.Params.ToAccount) {
		return Job{}, errs.NotFound("job", id)
	}
	return j, nil
}

// RunJobs works off queued jobs until ctx ends: one at a time per worker, leased so
// that a crashed worker's job is picked up again when its lease runs out.
func (a *App) RunJobs(ctx context.Context, poll time.Duration, log *slog.Logger) error {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		for {
			j, ok, err := a.store.ClaimJob(ctx, jobLease)
			if err != nil {
				if ctx.Err() == nil {
					log.Warn("claiming a job failed", "err", err)
				}
				break
			}
			if !ok {
				break
			}
			a.runJob(ctx, j, log)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-a.wakeJobs:
		}
	}
}

func (a *App) runJob(ctx context.Context, j Job, log *slog.Logger) {
	tctx := authz.ForTenant(context.WithoutCancel(ctx), j.TenantID)
	err := a.transferHosts(tctx, j)
	state, text, retry := JobSucceeded, "", time.Duration(0)
	if err != nil {
		e := errs.ToStatus(tctx, err)
		text = e.Message()
		if j.Attempts >= jobMaxAttempts {
			state = JobFailed
		} else {
			state, retry = JobRunning, time.Duration(j.Attempts*j.Attempts)*5*time.Second
		}
		log.Warn("job step failed", "tenant", j.TenantID, "job", j.ID, "attempt", j.Attempts, "err", err)
	}
	if err := a.store.FinishJob(tctx, j.TenantID, j.ID, state, text, retry); err != nil {
		log.Warn("recording a job's outcome failed; its lease will run out", "job", j.ID, "err", err)
	}
}

// transferHosts moves each live fulfillment on the job's hosts to the target
// account: the entitlement service moves its seats and quantity under a reservation
// derived from the job and fulfillment (so a repeated step moves nothing twice), then
// one transaction marks it TRANSFER and stores its successor in the target account.
func (a *App) transferHosts(ctx context.Context, j Job) error {
	var live []Fulfillment
	seen := map[string]bool{}
	for _, h := range j.Params.HostIDs {
		fs, err := a.store.LiveOf(ctx, j.TenantID, j.Params.AccountID, "", h)
		if err != nil {
			return err
		}
		for _, f := range fs {
			if !seen[f.ID] {
				seen[f.ID] = true
				live = append(live, f)
			}
		}
	}
	slices.SortFunc(live, func(x, y Fulfillment) int { return strings.Compare(x.ID, y.ID) })
	if j.Total == 0 {
		if err := a.store.SetJobTotal(ctx, j.TenantID, j.ID, len(live)); err != nil {
			return err
		}
	}
	if len(live) == 0 {
		return nil
	}
	key, err := a.store.ActiveKey(ctx, j.TenantID)
	if err != nil {
		return err
	}
	for _, f := range live {
		next := ids.FromKey(j.TenantID, "license", "job/"+j.ID+"/"+f.ID)
		activationID, err := a.ent.MoveSeats(ctx, f.ClaimID, f.Quantity, j.Params.ToAccount, j.Params.Pool, next)
		if err != nil {
			return err
		}
		li, err := a.ent.LineItem(ctx, activationID)
		if err != nil {
			return err
		}
		n := successor(f, "job/"+j.ID+"/"+f.ID, j.UserID)
		n.AccountID, n.ActivationID, n.EntitlementID, n.ProductLineID, n.ClaimID = li.AccountID, li.ActivationID, li.EntitlementID, li.ProductLineID, next
		n.RootID = "" // a new lineage in the new account
		if err := a.sign(ctx, &n, key, j.TenantID, nil); err != nil {
			return err
		}
		claim := seats.Claim{ID: next, TenantID: j.TenantID, ActivationID: li.ActivationID, Quantity: f.Quantity}
		applied, err := a.store.ApplyTransfer(ctx, j.TenantID, j.ID, marked(f, SupportTransfer, StateObsolete), n, claim)
		if err != nil {
			return err
		}
		if !applied {
			// The fulfillment was returned or replaced between the seat move and now:
			// the entitlement moved, but no license holds the moved seats, so they
			// are given back in the target account.
			if err := a.ent.ReleaseSeats(ctx, next); err != nil {
				return err
			}
		}
	}
	return nil
}
