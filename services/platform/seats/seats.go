// Package seats is the reserving side of DESIGN decision 3: the license and device
// services hold seats of entitlement line items through reservations that survive
// crashes and retries without losing or double-counting a seat.
//
// Protocol, keyed by a claim ID derived from the caller's request ID:
//  1. Begin writes a pending claim, then reserves in the entitlement service.
//  2. The caller's own transaction calls Commit, moving the claim to committed
//     together with the row that uses the seats (fulfillment, device mapping).
//  3. Confirm (after commit) confirms in the entitlement service.
//
// The reconciler releases pending claims older than a grace period (the caller died
// before committing) and confirms committed ones (it died before confirming).
package seats

import (
	"context"
	"embed"
	"io/fs"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/pg"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations creates the seat_claims table in the reserving service's schema.
func Migrations() pg.MigrationSet {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err)
	}
	return pg.MigrationSet{Name: "seats", Files: sub}
}

// Entitlements is what the ledger needs of the entitlement service.
type Entitlements interface {
	ReserveSeats(ctx context.Context, c Claim, holder string, ttl time.Duration) (accountID string, err error)
	// BatchReserveSeats reserves many new claims of the context's tenant at once;
	// refused[i] is why claim i took nothing.
	BatchReserveSeats(ctx context.Context, cs []Claim, holder string, ttl time.Duration) (refused []error, err error)
	ConfirmSeats(ctx context.Context, reservationID uuid.UUID) error
	// BatchConfirmSeats confirms many reservations of the context's tenant at once;
	// refused maps the others to their reasons.
	BatchConfirmSeats(ctx context.Context, ids []uuid.UUID) (confirmed []uuid.UUID, refused map[uuid.UUID]string, err error)
	ReleaseSeats(ctx context.Context, reservationID uuid.UUID) error
}

// Claim is a request for seats.
type Claim struct {
	ID           uuid.UUID
	TenantID     string
	ActivationID string
	Quantity     int64
	// AccountIDs restricts the line items the caller may draw from; empty: any.
	AccountIDs []string
	// Start is the term start to record if this claim starts the line item's term
	// (zero: now).
	Start time.Time
	// Replaces is the confirmed claim whose seats this one takes over (a partial
	// return: Quantity is what stays). Until this claim is confirmed the replaced one
	// is only suspended; releasing this one restores it.
	Replaces *uuid.UUID
}

// moveClaims moves claims ($1) from state $2 to $3.
const moveClaims = `UPDATE seat_claims SET state = $3, updated_at = now() WHERE id = ANY($1) AND state = $2`

// Ledger records claims in the service's own schema.
type Ledger struct {
	pool   *pgxpool.Pool
	ent    Entitlements
	holder string
	log    *slog.Logger
	// Grace is how long a pending claim may wait for its commit before it is released.
	Grace time.Duration
	// TTL is how long the entitlement service holds an unconfirmed reservation before
	// it releases it by itself (0: its default, far above Grace).
	TTL time.Duration
	// queue feeds the batching confirmer while RunConfirmer runs.
	queue atomic.Pointer[chan pendingConfirm]
	// Share lets concurrent BeginMany and ConfirmNow calls of one tenant share
	// their round trips (share.go). Set it before the ledger is used.
	Share    bool
	begins   sharer[*beginWork]
	confirms sharer[uuid.UUID]
}

type pendingConfirm struct {
	tenant string
	id     uuid.UUID
}

// NewLedger returns a ledger for holder ("license", "device").
func NewLedger(pool *pgxpool.Pool, ent Entitlements, holder string, log *slog.Logger) *Ledger {
	return &Ledger{pool: pool, ent: ent, holder: holder, log: log.With("seats", holder), Grace: 2 * time.Minute}
}

// ErrClaimReleased says the claim was given back (its request took too long or was
// refused); the caller must use a new request ID.
var ErrClaimReleased = errs.Aborted("RESERVATION_RELEASED", "the seats of this request were released; retry with a new request_id")

// Begin reserves the claim's seats and returns the account owning the line item.
func (l *Ledger) Begin(ctx context.Context, c Claim) (string, error) {
	inserted, err := l.insertPending(ctx, []Claim{c})
	if err != nil {
		return "", err
	}
	ours := len(inserted) == 1
	if !ours {
		// A retry of a request that is in flight or done: same claim, same parameters.
		var state, activationID string
		var quantity int64
		if err := l.pool.QueryRow(ctx, `SELECT state, activation_id, quantity FROM seat_claims WHERE id = $1`, c.ID).Scan(&state, &activationID, &quantity); err != nil {
			return "", err
		}
		if activationID != c.ActivationID || quantity != c.Quantity {
			return "", errs.Invalid("request_id", "was used before for another line item or quantity")
		}
		if state == "released" {
			return "", ErrClaimReleased
		}
		if claimUsed(state) {
			// Its use is stored: a replay must get the first result back whatever
			// the line item has left (PLT-6), and the reservation may have been
			// replaced or released since by a return of that use.
			return "", nil
		}
	}
	accountID, err := l.ent.ReserveSeats(ctx, c, l.holder, l.TTL)
	if err != nil {
		if ours && definiteRefusal(err) {
			// Nothing was reserved and no other call shares the claim: it is over.
			_, _ = l.pool.Exec(context.WithoutCancel(ctx), `UPDATE seat_claims SET state = 'released', updated_at = now() WHERE id = $1 AND state = 'pending'`, c.ID)
		}
		return "", err
	}
	return accountID, nil
}

// maxReserveBatch is the most reservations one BatchReserveSeats call takes.
const maxReserveBatch = 1000

// BeginMany reserves new claims of one tenant (none replacing another) together:
// one insert of the claims and one batch reservation per thousand of them.
// errs[i] is what Begin would have answered for claim i; nil means its seats are
// held.
func (l *Ledger) BeginMany(ctx context.Context, cs []Claim) []error {
	if !l.Share || len(cs) == 0 {
		return l.beginManyOrFail(ctx, cs)
	}
	w := &beginWork{claims: cs}
	p, _ := authz.FromContext(ctx)
	l.begins.do(ctx, p.GetTenantId(), w, l.beginShared)
	return w.out
}

// beginManyOrFail is beginMany with a failure of the whole call answered on every
// claim not answered otherwise.
func (l *Ledger) beginManyOrFail(ctx context.Context, cs []Claim) []error {
	out, whole := l.beginMany(ctx, cs, false)
	if whole != nil {
		for i := range out {
			if out[i] == nil {
				out[i] = whole
			}
		}
	}
	return out
}

// beginMany is BeginMany run at once; whole is set when the call failed as a whole
// (out then answers only the claims answered before). With wholeRefusal, a batch
// reservation refused as a whole (one malformed claim) is such a failure too, and
// leaves the claims pending for a retry.
func (l *Ledger) beginMany(ctx context.Context, cs []Claim, wholeRefusal bool) (out []error, whole error) {
	out = make([]error, len(cs))
	fail := func(err error) ([]error, error) {
		return out, err
	}
	// Rows go in ID order, so that two calls sharing claims (retries) wait for each
	// other in one order and cannot deadlock.
	sorted := slices.Clone(cs)
	slices.SortFunc(sorted, func(a, b Claim) int { return slices.Compare(a.ID[:], b.ID[:]) })
	for _, c := range sorted {
		if c.Replaces != nil {
			return fail(errs.Invalid("replaces", "replacing claims begin one by one"))
		}
	}
	inserted, err := l.insertPending(ctx, sorted)
	if err != nil {
		return fail(err)
	}
	ours := map[uuid.UUID]bool{}
	for _, id := range inserted {
		ours[id] = true
	}
	used := map[uuid.UUID]bool{}
	if len(inserted) < len(cs) {
		if err := l.checkRetried(ctx, cs, ours, out, used); err != nil {
			return fail(err)
		}
	}
	var reserve []Claim
	var at []int
	for i, c := range cs {
		if out[i] == nil && !used[c.ID] {
			reserve, at = append(reserve, c), append(at, i)
		}
	}
	if len(reserve) == 0 {
		return out, nil
	}
	refused := make([]error, 0, len(reserve))
	for chunk := range slices.Chunk(reserve, maxReserveBatch) {
		got, err := l.ent.BatchReserveSeats(ctx, chunk, l.holder, l.TTL)
		if err != nil && wholeRefusal {
			return fail(err)
		}
		if err != nil {
			got = make([]error, len(chunk))
			for k := range got {
				got[k] = err
			}
		}
		refused = append(refused, got...)
	}
	var over []uuid.UUID
	for k, err := range refused {
		out[at[k]] = err
		if id := reserve[k].ID; err != nil && ours[id] && definiteRefusal(err) {
			over = append(over, id) // nothing was reserved and no other call shares it
		}
	}
	if len(over) > 0 {
		_, _ = l.pool.Exec(context.WithoutCancel(ctx), moveClaims, over, "pending", "released")
	}
	return out, nil
}

// insertPending records new claims as pending and returns those that were not
// there yet. The commit does not wait for the disk: should the database lose these
// rows in a crash, the reservations they stood for expire by themselves after their
// lease (nothing can have used them, as the rows that use seats commit durably and
// after). Every other write of the ledger is durable.
func (l *Ledger) insertPending(ctx context.Context, cs []Claim) ([]uuid.UUID, error) {
	ids := make([]uuid.UUID, len(cs))
	tenants, activations := make([]string, len(cs)), make([]string, len(cs))
	quantities := make([]int64, len(cs))
	replaces := make([]*uuid.UUID, len(cs))
	for i, c := range cs {
		ids[i], tenants[i], activations[i], quantities[i], replaces[i] = c.ID, c.TenantID, c.ActivationID, c.Quantity, c.Replaces
	}
	tx, err := pg.BeginPipelined(ctx, l.pool)
	if err != nil {
		return nil, err
	}
	defer tx.Close(ctx)
	var inserted []uuid.UUID
	b := &pgx.Batch{}
	b.Queue(`SET LOCAL synchronous_commit = off`)
	b.Queue(`INSERT INTO seat_claims (id, tenant_id, activation_id, quantity, state, replaces)
		SELECT id, tenant_id, activation_id, quantity, 'pending', replaces
		FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bigint[], $5::uuid[]) AS c(id, tenant_id, activation_id, quantity, replaces)
		ON CONFLICT (id) DO NOTHING RETURNING id`, ids, tenants, activations, quantities, replaces).
		Query(func(rows pgx.Rows) (err error) {
			inserted, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
			return err
		})
	return inserted, tx.Commit(ctx, b)
}

// checkRetried answers the claims that existed before BeginMany as Begin answers a
// retry: same parameters required, a released claim cannot be used again, and a
// claim whose use is stored is answered as held (into used) without reserving.
func (l *Ledger) checkRetried(ctx context.Context, cs []Claim, ours map[uuid.UUID]bool, out []error, used map[uuid.UUID]bool) error {
	var retried []uuid.UUID
	for _, c := range cs {
		if !ours[c.ID] {
			retried = append(retried, c.ID)
		}
	}
	type prev struct {
		state, activationID string
		quantity            int64
	}
	prevs := map[uuid.UUID]prev{}
	rows, err := l.pool.Query(ctx, `SELECT id, state, activation_id, quantity FROM seat_claims WHERE id = ANY($1)`, retried)
	if err != nil {
		return err
	}
	var id uuid.UUID
	var p prev
	if _, err := pgx.ForEachRow(rows, []any{&id, &p.state, &p.activationID, &p.quantity}, func() error {
		prevs[id] = p
		return nil
	}); err != nil {
		return err
	}
	for i, c := range cs {
		if ours[c.ID] {
			continue
		}
		switch p := prevs[c.ID]; {
		case p.activationID != c.ActivationID || p.quantity != c.Quantity:
			out[i] = errs.Invalid("request_id", "was used before for another line item or quantity")
		case p.state == "released":
			out[i] = ErrClaimReleased
		case claimUsed(p.state):
			used[c.ID] = true
		}
	}
	return nil
}

// claimUsed reports whether a claim's use (fulfillment, mapping) was stored: its
// seats were taken once and a retry takes nothing more.
func claimUsed(state string) bool {
	return state == "committed" || state == "confirmed" || state == "lost"
}

// Commit marks the claim as used, inside the transaction that stores what uses the
// seats. It fails with ErrClaimReleased when the reconciler released the claim first.
func Commit(ctx context.Context, tx pgx.Tx, id uuid.UUID) error {
	tag, err := tx.Exec(ctx, `UPDATE seat_claims SET state = 'committed', updated_at = now() WHERE id = $1 AND state = 'pending'`, id)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return ErrClaimReleased
	}
	return nil
}

// QueueCommit adds to b, for the transaction that stores what uses the seats, the
// move of the claims to committed; sending b fails with ErrClaimReleased when the
// reconciler released one of them first.
func QueueCommit(b *pgx.Batch, ids []uuid.UUID) {
	b.Queue(moveClaims, ids, "pending", "committed").
		Exec(func(tag pgconn.CommandTag) error {
			if tag.RowsAffected() != int64(len(ids)) {
				return ErrClaimReleased
			}
			return nil
		})
}

// Confirm confirms a committed claim: through the batching confirmer when it runs
// (the caller does not wait), else at once. A failure is left to the reconciler,
// which confirms every committed claim it finds.
func (l *Ledger) Confirm(ctx context.Context, id uuid.UUID) {
	if q := l.queue.Load(); q != nil {
		p, _ := authz.FromContext(ctx)
		select {
		case *q <- pendingConfirm{tenant: p.GetTenantId(), id: id}:
			return
		default: // the confirmer is behind: confirm here rather than wait
		}
	}
	l.ConfirmNow(ctx, id)
}

// ConfirmNow confirms a committed claim before it returns: for claims whose
// confirmation gives seats back (replacements), which callers expect to see free
// when the operation answers. A failure is left to the reconciler.
func (l *Ledger) ConfirmNow(ctx context.Context, id uuid.UUID) {
	if l.Share {
		p, _ := authz.FromContext(ctx)
		l.confirms.do(ctx, p.GetTenantId(), id, l.confirmShared)
		return
	}
	if err := l.confirm(ctx, id); err != nil {
		l.log.WarnContext(ctx, "seat confirmation deferred to the reconciler", "claim", id, "err", err)
	}
}

// Confirming reports whether the batching confirmer runs.
func (l *Ledger) Confirming() bool { return l.queue.Load() != nil }

// confirmBatchMax bounds one batch of confirmations; confirmWindow is how long the
// confirmer waits for a batch to fill after its first claim.
const (
	confirmBatchMax = 500
	confirmWindow   = 2 * time.Millisecond
)

// RunConfirmer confirms committed claims in batches until ctx ends: one
// BatchConfirmSeats call and one update of the claims per tenant and batch, instead
// of two commits per claim. Claims it could not confirm stay committed for the
// reconciler.
func (l *Ledger) RunConfirmer(ctx context.Context) error {
	q := make(chan pendingConfirm, 4*confirmBatchMax)
	l.queue.Store(&q)
	defer l.queue.Store(nil)
	for {
		var batch []pendingConfirm
		select {
		case <-ctx.Done():
			return nil
		case p := <-q:
			batch = append(batch, p)
		}
		window := time.NewTimer(confirmWindow)
	fill:
		for len(batch) < confirmBatchMax {
			select {
			case p := <-q:
				batch = append(batch, p)
			case <-window.C:
				break fill
			}
		}
		window.Stop()
		l.confirmBatch(context.WithoutCancel(ctx), batch)
	}
}

func (l *Ledger) confirmBatch(ctx context.Context, batch []pendingConfirm) {
	byTenant := map[string][]uuid.UUID{}
	for _, p := range batch {
		byTenant[p.tenant] = append(byTenant[p.tenant], p.id)
	}
	for tenant, ids := range byTenant {
		confirmed, refused, err := l.ent.BatchConfirmSeats(authz.ForTenant(ctx, tenant), ids)
		if err != nil {
			l.log.WarnContext(ctx, "batch seat confirmation deferred to the reconciler", "tenant", tenant, "claims", len(ids), "err", err)
			continue
		}
		if _, err := l.pool.Exec(ctx, moveClaims, confirmed, "committed", "confirmed"); err != nil {
			l.log.WarnContext(ctx, "recording confirmed claims failed; the reconciler confirms them again", "err", err)
		}
		var lost []uuid.UUID
		for id, reason := range refused {
			if reason == "RESERVATION_EXPIRED" {
				lost = append(lost, id)
				l.log.ErrorContext(ctx, "seat reservation expired before its confirmation; the claim's use holds no seats", "claim", id)
			} else {
				l.log.WarnContext(ctx, "seat confirmation refused; left to the reconciler", "claim", id, "reason", reason)
			}
		}
		if len(lost) > 0 {
			_, _ = l.pool.Exec(ctx, moveClaims, lost, "committed", "lost")
		}
	}
}

// confirm confirms a committed claim in the entitlement service and records it. A
// reservation that expired there while this service was away, and whose seats
// others took, cannot be confirmed any more: the claim is marked lost for an
// operator (the use it backs holds no seats) instead of being retried forever.
func (l *Ledger) confirm(ctx context.Context, id uuid.UUID) error {
	state := "confirmed"
	if err := l.ent.ConfirmSeats(ctx, id); err != nil {
		if errs.Reason(err) != "RESERVATION_EXPIRED" {
			return err
		}
		state = "lost"
		l.log.ErrorContext(ctx, "seat reservation expired before its confirmation; the claim's use holds no seats", "claim", id)
	}
	_, err := l.pool.Exec(ctx, `UPDATE seat_claims SET state = $2, updated_at = now() WHERE id = $1 AND state = 'committed'`, id, state)
	return err
}

// Abort releases a claim whose use was not committed.
func (l *Ledger) Abort(ctx context.Context, tenantID string, id uuid.UUID) {
	ctx = authz.ForTenant(context.WithoutCancel(ctx), tenantID)
	if err := l.release(ctx, id); err != nil {
		l.log.WarnContext(ctx, "seat release deferred to the reconciler", "claim", id, "err", err)
	}
}

// release gives a pending claim's seats back while holding the claim's row lock, so
// a Commit racing with it either commits first (and the claim is kept) or waits and
// then finds the claim released (and its transaction fails).
func (l *Ledger) release(ctx context.Context, id uuid.UUID) error {
	return pgx.BeginFunc(ctx, l.pool, func(tx pgx.Tx) error {
		var state string
		if err := tx.QueryRow(ctx, `SELECT state FROM seat_claims WHERE id = $1 FOR UPDATE`, id).Scan(&state); err != nil {
			return err
		}
		if state != "pending" {
			return nil
		}
		if err := l.ent.ReleaseSeats(ctx, id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE seat_claims SET state = 'released', updated_at = now() WHERE id = $1`, id)
		return err
	})
}

// Reconcile finishes claims left open by crashes or failed calls; it returns how
// many it settled.
func (l *Ledger) Reconcile(ctx context.Context) (int, error) {
	rows, err := l.pool.Query(ctx, `SELECT id, tenant_id, state FROM seat_claims
		WHERE open AND (state = 'committed' OR updated_at < now() - make_interval(secs => $1))
		ORDER BY updated_at LIMIT 500`, l.Grace.Seconds())
	if err != nil {
		return 0, err
	}
	type open struct {
		id            uuid.UUID
		tenant, state string
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (open, error) {
		var o open
		return o, r.Scan(&o.id, &o.tenant, &o.state)
	})
	if err != nil {
		return 0, err
	}
	settled := 0
	for _, o := range list {
		tctx := authz.ForTenant(ctx, o.tenant)
		switch o.state {
		case "committed":
			err = l.confirm(tctx, o.id)
		case "pending":
			err = l.release(tctx, o.id)
		}
		if err != nil {
			l.log.WarnContext(ctx, "settling a seat claim failed", "claim", o.id, "err", err)
			continue
		}
		settled++
	}
	return settled, nil
}

// Run reconciles every interval until ctx ends.
func (l *Ledger) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := l.Reconcile(ctx); err != nil && ctx.Err() == nil {
			l.log.Warn("seat reconciliation failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// definiteRefusal reports whether the entitlement service surely reserved nothing.
func definiteRefusal(err error) bool {
	if e, ok := errs.As(err); ok {
		return e.Kind != errs.KindUnavailable
	}
	switch status.Code(err) {
	case codes.InvalidArgument, codes.NotFound, codes.FailedPrecondition, codes.PermissionDenied, codes.AlreadyExists, codes.OutOfRange, codes.Unauthenticated:
		return true
	}
	return false
}

// Adopt records, inside the caller's transaction, a claim whose reservation the
// entitlement service made confirmed by itself (seats moved with a host to another
// account): the claim starts confirmed.
func Adopt(ctx context.Context, tx pgx.Tx, c Claim) error {
	_, err := tx.Exec(ctx, `INSERT INTO seat_claims (id, tenant_id, activation_id, quantity, state) VALUES ($1, $2, $3, $4, 'confirmed')
		ON CONFLICT (id) DO NOTHING`, c.ID, c.TenantID, c.ActivationID, c.Quantity)
	return err
}
