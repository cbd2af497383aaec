// Package store keeps the license service's fulfillments and signing keys in
// Postgres.
package store

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/license/internal/app"
	"github.com/tessera-dev/tessera/services/license/internal/keys"
	"github.com/tessera-dev/tessera/services/license/licfile"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/filter"
	"github.com/tessera-dev/tessera/services/platform/ids"
	"github.com/tessera-dev/tessera/services/platform/seats"
	"github.com/tessera-dev/tessera/services/platform/ttlcache"
)

// Store implements app.Store.
type Store struct {
	pool   *pgxpool.Pool
	sealer keys.Sealer
	// active caches each tenant's unsealed active key and settings caches its
	// settings: both are read on every activation. A rotation or settings change made
	// by another replica is seen within keyCacheTTL.
	active   *ttlcache.Cache[string, app.SigningKey]
	settings *ttlcache.Cache[string, app.Settings]
}

// New returns a store over pool (search path: the license schema).
func New(pool *pgxpool.Pool, sealer keys.Sealer) *Store {
	return &Store{pool: pool, sealer: sealer, active: ttlcache.New[string, app.SigningKey](keyCacheTTL), settings: ttlcache.New[string, app.Settings](keyCacheTTL)}
}

const fulfillmentCols = `id, activation_id, account_id, host_id, quantity, state, license_text, license_json, key_id, request_id, claim_id, user_id, created_at,
	support_type, server_host_ids, node_host_ids, overdraft, product_id, version, model_type, technology, expire_time, attributes, coalesce(parent_id, ''), coalesce(consolidated_id, ''),
	entitlement_id, product_line_id, root_id`

// fulfillmentBasicCols leaves the license texts out, for lists.
var fulfillmentBasicCols = strings.Replace(fulfillmentCols, "license_text, license_json", "'', ''", 1)

func scanFulfillment(row pgx.Row) (app.Fulfillment, error) {
	var f app.Fulfillment
	err := row.Scan(fulfillmentDest(&f)...)
	return f, err
}

func fulfillmentDest(f *app.Fulfillment) []any {
	return []any{
		&f.ID, &f.ActivationID, &f.AccountID, &f.HostID, &f.Quantity, &f.State, &f.LicenseText, &f.LicenseJSON, &f.KeyID, &f.RequestID, &f.ClaimID, &f.UserID, &f.CreateTime,
		&f.SupportType, &f.ServerHostIDs, &f.NodeHostIDs, &f.Overdraft, &f.ProductID, &f.Version, &f.ModelType, &f.Technology, &f.ExpireTime, &f.Attributes, &f.ParentID, &f.ConsolidatedID,
		&f.EntitlementID, &f.ProductLineID, &f.RootID,
	}
}

var fulfillmentSchema = filter.Schema{
	"fulfillment_id": {Column: "id", Kind: filter.Text},
	"line_item":      {Column: "activation_id", Kind: filter.Text, Collection: "lineItems"},
	"product":        {Column: "product_id", Kind: filter.Text, Collection: "products"},
	"version":        {Column: "version", Kind: filter.Text},
	"host":           {Column: "array_to_string(server_host_ids || node_host_ids, ' ')", Kind: filter.Text},
	"account":        {Column: "account_id", Kind: filter.Exact, Collection: "accounts"},
	"support_type": {Column: "support_type", Kind: filter.Exact, Values: map[string]string{
		"MASTER": app.SupportMaster, "RETURN": app.SupportReturn, "REPAIR": app.SupportRepair, "REHOST": app.SupportRehost,
		"OBSOLETE": app.SupportObsolete, "UPGRADE": app.SupportUpgrade, "UPSELL": app.SupportUpsell, "RENEW": app.SupportRenew,
		"TRANSFER": app.SupportTransfer,
	}},
	"state": {Column: "state", Kind: filter.Exact, Values: map[string]string{
		"ACTIVE": app.StateActive, "RETURNED": app.StateReturned, "OBSOLETE": app.StateObsolete,
	}},
	"create_time": {Column: "created_at", Kind: filter.Time},
	"expire_time": {Column: "expire_time", Kind: filter.Time},
}

// ListFulfillments lists a page of fulfillments within scope.
func (s *Store) ListFulfillments(ctx context.Context, tenant string, scope app.Scope, q filter.Query, full bool) ([]app.Fulfillment, string, error) {
	plan, err := fulfillmentSchema.Plan(q, "id", 7)
	if err != nil {
		return nil, "", err
	}
	cols := fulfillmentBasicCols
	if full {
		cols = fulfillmentCols
	}
	rows, err := s.pool.Query(ctx, `SELECT `+cols+`, `+plan.SortKey+` AS sort_key FROM fulfillments
		WHERE tenant_id = $1 AND ($2 OR account_id = ANY($3))
		  AND (cardinality($4::text[]) = 0 OR product_line_id = ANY($4))
		  AND ($5 = '' OR entitlement_id = $5) AND ($6 = '' OR activation_id = $6)
		  AND `+plan.Where+` ORDER BY `+plan.OrderBy+` LIMIT `+strconv.Itoa(plan.Limit),
		append([]any{
			tenant, scope.All || scope.EntitlementID != "" || scope.ActivationID != "", nonNil(scope.AccountIDs), nonNil(scope.ProductLines),
			scope.EntitlementID, scope.ActivationID,
		}, plan.Args...)...)
	if err != nil {
		return nil, "", err
	}
	return filter.CollectPage(plan, rows, func(r pgx.CollectableRow, f *app.Fulfillment, key *string) error {
		return r.Scan(append(fulfillmentDest(f), key)...)
	}, func(f app.Fulfillment) string { return f.ID })
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// RecordFulfillmentEmail writes the event that carries a license email to the mailer.
func (s *Store) RecordFulfillmentEmail(ctx context.Context, tenant, id string, to []string, subject, text, license string) (uuid.UUID, error) {
	var eventID uuid.UUID
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		eventID, err = events.Write(ctx, tx, events.Subject("license", "fulfillment", "emailed"), tenant, &eventspb.FulfillmentEmailed{
			FulfillmentId: id, To: to, Subject: subject, Text: text, LicenseText: license,
		})
		return err
	})
	return eventID, err
}

const consolidatedCols = `c.id, c.account_id, c.server_host_ids, c.technology, c.license_text, c.license_json, c.key_id, c.created_at, c.replaced_by, c.retired_at,
	coalesce((SELECT array_agg(f.id ORDER BY f.id) FROM fulfillments f WHERE f.tenant_id = c.tenant_id AND f.consolidated_id = c.id), '{}')`

func scanConsolidated(row pgx.Row) (app.ConsolidatedLicense, error) {
	var c app.ConsolidatedLicense
	return c, scanConsolidatedInto(row, &c)
}

// scanConsolidatedInto reads consolidatedCols into c, then any extra columns.
func scanConsolidatedInto(row pgx.Row, c *app.ConsolidatedLicense, extra ...any) error {
	var retired *time.Time
	err := row.Scan(append([]any{
		&c.ID, &c.AccountID, &c.ServerHostIDs, &c.Technology, &c.LicenseText, &c.LicenseJSON, &c.KeyID, &c.CreateTime,
		&c.ReplacedBy, &retired, &c.FulfillmentIDs,
	}, extra...)...)
	if retired != nil {
		c.RetireTime = *retired
	}
	return err
}

// FulfillmentsByRequest returns what an activation request created, in its order.
func (s *Store) FulfillmentsByRequest(ctx context.Context, tenant, requestID string) ([]app.Fulfillment, []app.ConsolidatedLicense, error) {
	var list []string
	err := s.pool.QueryRow(ctx, `SELECT fulfillment_ids FROM activation_requests WHERE tenant_id = $1 AND request_id = $2 AND replaced_id = ''`, tenant, requestID).Scan(&list)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, errs.NotFound("activation request", requestID)
	}
	if err != nil {
		return nil, nil, err
	}
	fs, err := s.fulfillmentsIn(ctx, tenant, list)
	if err != nil {
		return nil, nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+consolidatedCols+` FROM consolidated_licenses c WHERE c.tenant_id = $1 AND c.request_id = $2 ORDER BY c.id`, tenant, requestID)
	if err != nil {
		return nil, nil, err
	}
	cls, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.ConsolidatedLicense, error) { return scanConsolidated(r) })
	return fs, cls, err
}

// GetFulfillment reads one fulfillment.
func (s *Store) GetFulfillment(ctx context.Context, tenant, id string) (app.Fulfillment, error) {
	f, err := scanFulfillment(s.pool.QueryRow(ctx, `SELECT `+fulfillmentCols+` FROM fulfillments WHERE tenant_id = $1 AND id = $2`, tenant, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return f, errs.NotFound("fulfillment", id)
	}
	return f, err
}

// CreateActivations stores activation requests — each its fulfillments and
// consolidated licenses — commits their seat claims, records the hosts and writes
// fulfillment.created events, all in one transaction: the group is whole or absent.
func (s *Store) CreateActivations(ctx context.Context, tenant string, as []app.NewActivation) error {
	b := &pgx.Batch{}
	var rows newFulfillments
	var requests newRequests
	var claims []uuid.UUID
	var hosts []hostUse
	for _, a := range as {
		fs := a.Fulfillments
		requests.add(a.RequestID, fs)
		for _, c := range a.Consolidated {
			queueConsolidated(b, tenant, a.RequestID, c)
		}
		for i := range fs {
			if err := rows.add(a.Ctx, tenant, &fs[i]); err != nil {
				return err
			}
			claims = append(claims, fs[i].ClaimID)
			hosts = append(hosts, hostsOf(fs[i])...)
		}
	}
	requests.queue(b, tenant)
	rows.queue(b, tenant)
	queueHosts(b, tenant, hosts)
	seats.QueueCommit(b, claims)
	events.QueueNotify(b)
	// One round trip; a batch outside a transaction runs as one implicit transaction.
	return s.pool.SendBatch(ctx, b).Close()
}

// newRequests collects activation requests (the request ID and the fulfillments it
// made, for replays) to be inserted with one statement.
type newRequests struct {
	ids, users   []string
	fulfillments ragged
}

func (r *newRequests) add(requestID string, fs []app.Fulfillment) {
	r.ids = append(r.ids, requestID)
	r.users = append(r.users, fs[0].UserID)
	for _, f := range fs {
		r.fulfillments.add(len(r.ids), []string{f.ID})
	}
}

func (r *newRequests) queue(b *pgx.Batch, tenant string) {
	b.Queue(`INSERT INTO activation_requests (tenant_id, request_id, fulfillment_ids, user_id)
		SELECT $1, r.request_id, f.ids, r.user_id
		FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS r(request_id, user_id, item)
		JOIN (SELECT item, array_agg(id ORDER BY pos) AS ids FROM unnest($4::bigint[], $5::text[]) WITH ORDINALITY AS f(item, id, pos) GROUP BY item) f
			ON f.item = r.item`,
		tenant, r.ids, r.users, r.fulfillments.rows, r.fulfillments.values)
}

// insertFulfillment writes one fulfillment, its hosts and its event inside tx.
func insertFulfillment(ctx context.Context, tx pgx.Tx, tenant string, f app.Fulfillment) error {
	var rows newFulfillments
	if err := rows.add(ctx, tenant, &f); err != nil {
		return err
	}
	b := &pgx.Batch{}
	rows.queue(b, tenant)
	queueHosts(b, tenant, hostsOf(f))
	events.QueueNotify(b)
	return tx.SendBatch(ctx, b).Close()
}

// hostUse is a host an account's fulfillment is for.
type hostUse struct{ account, host, kind string }

func hostsOf(f app.Fulfillment) []hostUse {
	var out []hostUse
	for _, h := range append(append([]string{}, f.ServerHostIDs...), f.NodeHostIDs...) {
		kind := ""
		if parsed, err := licfile.ParseHostID(h, licfile.Rules{RelaxIP: true}); err == nil {
			kind = parsed.Kind()
		}
		out = append(out, hostUse{account: f.AccountID, host: h, kind: kind})
	}
	return out
}

// queueHosts records the hosts in one statement, each once and in a fixed order, so
// that concurrent transactions lock shared host rows in the same order.
func queueHosts(b *pgx.Batch, tenant string, uses []hostUse) {
	if len(uses) == 0 {
		return
	}
	slices.SortFunc(uses, func(x, y hostUse) int {
		return cmp.Or(strings.Compare(x.account, y.account), strings.Compare(x.host, y.host))
	})
	uses = slices.CompactFunc(uses, func(x, y hostUse) bool { return x.account == y.account && x.host == y.host })
	accounts, hosts, kinds := make([]string, len(uses)), make([]string, len(uses)), make([]string, len(uses))
	for i, u := range uses {
		accounts[i], hosts[i], kinds[i] = u.account, u.host, u.kind
	}
	b.Queue(`INSERT INTO hosts (tenant_id, account_id, host_id, kind)
		SELECT $1, account_id, host_id, kind FROM unnest($2::text[], $3::text[], $4::text[]) AS h(account_id, host_id, kind)
		ON CONFLICT (tenant_id, account_id, host_id) DO UPDATE SET last_used = now()`, tenant, accounts, hosts, kinds)
}

// ActiveKey returns the tenant's active signing key, creating one if it has none.
// Concurrent first calls agree on one key through the one-active-key index. The
// unsealed key is cached for keyCacheTTL, so a rotation made by another replica is
// picked up within it (licenses signed meanwhile carry the old key's ID and verify).
func (s *Store) ActiveKey(ctx context.Context, tenant string) (app.SigningKey, error) {
	if k, ok := s.active.Get(tenant); ok {
		return k, nil
	}
	k, err := s.loadActive(ctx, tenant)
	if errors.Is(err, pgx.ErrNoRows) {
		if _, err := s.insertKey(ctx, s.pool, tenant, app.AlgEd25519); err != nil && !errs.IsKind(err, errs.KindAlreadyExists) {
			return app.SigningKey{}, err
		}
		k, err = s.loadActive(ctx, tenant)
	}
	if err != nil {
		return app.SigningKey{}, err
	}
	s.active.Put(tenant, k)
	return k, nil
}

const keyCacheTTL = 30 * time.Second

func additional(tenant, keyID string) []byte { return []byte(tenant + "/" + keyID) }

const keyCols = `id, algorithm, public_key, active, created_at, retired_at`

func scanKey(row pgx.Row, sealed *[]byte) (app.SigningKey, error) {
	var k app.SigningKey
	dest := []any{&k.ID, &k.Algorithm, &k.Public, &k.Active, &k.CreateTime, &k.RetireTime}
	if sealed != nil {
		dest = append(dest, sealed)
	}
	return k, row.Scan(dest...)
}

func (s *Store) loadActive(ctx context.Context, tenant string) (app.SigningKey, error) {
	var sealed []byte
	k, err := scanKey(s.pool.QueryRow(ctx, `SELECT `+keyCols+`, sealed_private_key FROM signing_keys WHERE tenant_id = $1 AND active`, tenant), &sealed)
	if err != nil {
		return k, err
	}
	private, err := s.sealer.Open(sealed, additional(tenant, k.ID))
	if err != nil {
		return k, errors.New("license: the signing key cannot be unsealed with the configured master key")
	}
	switch k.Algorithm {
	case app.AlgEd25519:
		k.Signer = licfile.Ed25519Signer{ID: k.ID, Key: ed25519.NewKeyFromSeed(private)}
	case app.AlgES256:
		ec, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), private)
		if err != nil {
			return k, fmt.Errorf("license: signing key %s: %w", k.ID, err)
		}
		k.Signer = licfile.ES256Signer{ID: k.ID, Key: ec}
	}
	return k, nil
}

// newKey makes a key pair: the raw public key and the private material to seal.
func newKey(algorithm string) (public, private []byte, err error) {
	switch algorithm {
	case app.AlgES256:
		ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		if public, err = ec.PublicKey.Bytes(); err != nil {
			return nil, nil, err
		}
		private, err = ec.Bytes()
		return public, private, err
	default:
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		return pub, priv.Seed(), err
	}
}

type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// insertKey adds an active key; the one-active-key index refuses a second.
func (s *Store) insertKey(ctx context.Context, db execer, tenant, algorithm string) (string, error) {
	public, private, err := newKey(algorithm)
	if err != nil {
		return "", err
	}
	id := ids.New("KEY", 2)
	sealed, err := s.sealer.Seal(private, additional(tenant, id))
	if err != nil {
		return "", err
	}
	_, err = db.Exec(ctx, `INSERT INTO signing_keys (tenant_id, id, algorithm, public_key, sealed_private_key, active)
		VALUES ($1, $2, $3, $4, $5, true)`, tenant, id, algorithm, public, sealed)
	return id, err
}

// RotateKey retires the active key and makes a new one active, in one transaction.
func (s *Store) RotateKey(ctx context.Context, tenant, algorithm string) (app.SigningKey, error) {
	var id string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Serializes rotations of one tenant (and a first key made concurrently).
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('signing_keys/' || $1))`, tenant); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE signing_keys SET active = false, retired_at = now() WHERE tenant_id = $1 AND active`, tenant); err != nil {
			return err
		}
		var err error
		if id, err = s.insertKey(ctx, tx, tenant, algorithm); err != nil {
			return err
		}
		_, err = events.Write(ctx, tx, events.Subject("license", "signing_key", "rotated"), tenant, &eventspb.SigningKeyRotated{KeyId: id, Algorithm: algorithm})
		return err
	})
	if err != nil {
		return app.SigningKey{}, err
	}
	s.active.Delete(tenant)
	return scanKey(s.pool.QueryRow(ctx, `SELECT `+keyCols+` FROM signing_keys WHERE tenant_id = $1 AND id = $2`, tenant, id), nil)
}

// ListKeys returns every key of the tenant, public halves only.
func (s *Store) ListKeys(ctx context.Context, tenant string) ([]app.SigningKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+keyCols+` FROM signing_keys WHERE tenant_id = $1 ORDER BY created_at`, tenant)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.SigningKey, error) { return scanKey(r, nil) })
}

// LifecycleTimes are when the lineage's fulfillments were marked supportType.
func (s *Store) LifecycleTimes(ctx context.Context, tenant, rootID, supportType string) ([]time.Time, error) {
	rows, err := s.pool.Query(ctx, `SELECT updated_at FROM fulfillments WHERE tenant_id = $1 AND root_id = $2 AND support_type = $3`, tenant, rootID, supportType)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[time.Time])
}

// LiveSuccessors lists the MASTER fulfillments made from parentID (in its lineage
// rootID) by a lifecycle operation.
func (s *Store) LiveSuccessors(ctx context.Context, tenant, rootID, parentID string) ([]app.Fulfillment, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+fulfillmentBasicCols+` FROM fulfillments
		WHERE tenant_id = $1 AND root_id = $2 AND support_type = 'master' AND parent_id = $3 ORDER BY id`, tenant, rootID, parentID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.Fulfillment, error) { return scanFulfillment(r) })
}

// LiveOfClaim lists the MASTER fulfillments a seat claim backs.
func (s *Store) LiveOfClaim(ctx context.Context, tenant string, claimID uuid.UUID) ([]app.Fulfillment, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+fulfillmentBasicCols+` FROM fulfillments WHERE tenant_id = $1 AND claim_id = $2 AND support_type = 'master'`, tenant, claimID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.Fulfillment, error) { return scanFulfillment(r) })
}

// UpgradedOfClaim sums the seats a claim's fulfillments gave to upgrades, upsells
// and renewals, which the claim still holds.
func (s *Store) UpgradedOfClaim(ctx context.Context, tenant string, claimID uuid.UUID) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT coalesce(sum(upgraded_seats), 0) FROM fulfillments WHERE tenant_id = $1 AND claim_id = $2 AND upgraded_seats > 0`, tenant, claimID).Scan(&n)
	return n, err
}

// ApplyLifecycle marks the replaced fulfillments under their row locks (refusing
// any no longer MASTER), stores the new ones, moves the live fulfillments of each
// replaced seat claim to its replacement and commits every claim, with the events,
// in one transaction.
func (s *Store) ApplyLifecycle(ctx context.Context, tenant string, c app.LifecycleChange) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		replaced := make([]string, len(c.Replaced))
		for i, r := range c.Replaced {
			var support string
			if err := tx.QueryRow(ctx, `SELECT support_type FROM fulfillments WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenant, r.ID).Scan(&support); err != nil {
				return err
			}
			if support != app.SupportMaster {
				return errs.FailedPrecondition("FULFILLMENT_NOT_MASTER", "fulfillment %s was changed meanwhile (support type %s)", r.ID, support)
			}
			if _, err := tx.Exec(ctx, `UPDATE fulfillments SET support_type = $3, state = $4, upgraded_seats = $5, updated_at = now() WHERE tenant_id = $1 AND id = $2`,
				tenant, r.ID, r.SupportType, r.State, r.UpgradedSeats); err != nil {
				return err
			}
			replaced[i] = r.ID
		}
		if err := retireConsolidatedOf(ctx, tx, tenant, replaced); err != nil {
			return err
		}
		created := make([]string, len(c.Created))
		for i, f := range c.Created {
			if err := insertFulfillment(ctx, tx, tenant, f); err != nil {
				return err
			}
			created[i] = f.ID
		}
		for old, next := range c.Replacements {
			// The replacement holds what the old claim's live fulfillments keep and
			// the seats its fulfillments gave to upgrades: both move to it.
			if _, err := tx.Exec(ctx, `UPDATE fulfillments SET claim_id = $3, updated_at = now() WHERE tenant_id = $1 AND claim_id = $2 AND support_type = 'master'`,
				tenant, old, next); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE fulfillments SET claim_id = $3 WHERE tenant_id = $1 AND claim_id = $2 AND upgraded_seats > 0`,
				tenant, old, next); err != nil {
				return err
			}
			if err := seats.Commit(ctx, tx, next); err != nil {
				return err
			}
		}
		for _, id := range c.Fresh {
			if err := seats.Commit(ctx, tx, id); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO activation_requests (tenant_id, request_id, fulfillment_ids, user_id, replaced_id, replaced_ids) VALUES ($1, $2, $3, $4, $5, $6)`,
			tenant, c.RequestID, created, c.Replaced[0].UserID, c.Replaced[0].ID, replaced); err != nil {
			return err
		}
		for _, r := range c.Replaced {
			verb := map[string]string{
				app.SupportReturn: "returned", app.SupportRepair: "repaired", app.SupportRehost: "rehosted",
				app.SupportUpgrade: "upgraded", app.SupportUpsell: "upsold", app.SupportRenew: "renewed",
			}[r.SupportType]
			var successors []string
			for _, n := range c.Created {
				if n.ParentID == r.ID {
					successors = append(successors, n.ID)
				}
			}
			if _, err := events.Write(ctx, tx, events.Subject("license", "fulfillment", verb), tenant, &eventspb.FulfillmentReplaced{
				FulfillmentId: r.ID, ActivationId: r.ActivationID, AccountId: r.AccountID, CreatedIds: successors, Returned: c.Returned[r.ID],
			}); err != nil {
				return err
			}
		}
		return nil
	})
}

// LifecycleByRequest returns what a lifecycle request replaced and created.
func (s *Store) LifecycleByRequest(ctx context.Context, tenant, requestID string) ([]app.Fulfillment, []app.Fulfillment, error) {
	var replacedIDs, createdIDs []string
	err := s.pool.QueryRow(ctx, `SELECT replaced_ids, fulfillment_ids FROM activation_requests WHERE tenant_id = $1 AND request_id = $2 AND replaced_id <> ''`, tenant, requestID).
		Scan(&replacedIDs, &createdIDs)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, errs.NotFound("lifecycle request", requestID)
	}
	if err != nil {
		return nil, nil, err
	}
	replaced, err := s.fulfillmentsIn(ctx, tenant, replacedIDs)
	if err != nil {
		return nil, nil, err
	}
	created, err := s.fulfillmentsIn(ctx, tenant, createdIDs)
	return replaced, created, err
}

// fulfillmentsIn reads fulfillments by ID, in the order given.
func (s *Store) fulfillmentsIn(ctx context.Context, tenant string, ids []string) ([]app.Fulfillment, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+fulfillmentCols+` FROM fulfillments WHERE tenant_id = $1 AND id = ANY($2) ORDER BY array_position($2, id)`, tenant, ids)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.Fulfillment, error) { return scanFulfillment(r) })
}

// LiveOfLineItem lists the MASTER fulfillments of a line item, largest first.
func (s *Store) LiveOfLineItem(ctx context.Context, tenant, activationID string) ([]app.Fulfillment, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+fulfillmentBasicCols+` FROM fulfillments
		WHERE tenant_id = $1 AND activation_id = $2 AND support_type = 'master' ORDER BY quantity - overdraft DESC, created_at`, tenant, activationID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.Fulfillment, error) { return scanFulfillment(r) })
}

// LiveOf lists an account's MASTER fulfillments, of a product and on a host when
// those are given, largest first.
func (s *Store) LiveOf(ctx context.Context, tenant, accountID, productID, hostID string) ([]app.Fulfillment, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+fulfillmentCols+` FROM fulfillments
		WHERE tenant_id = $1 AND account_id = $2 AND support_type = 'master'
		  AND ($3 = '' OR product_id = $3) AND ($4 = '' OR $4 = ANY(server_host_ids || node_host_ids))
		ORDER BY quantity - overdraft DESC, created_at, id`, tenant, accountID, productID, hostID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.Fulfillment, error) { return scanFulfillment(r) })
}

// OfHost lists an account's fulfillments of a support type on a host, oldest first.
func (s *Store) OfHost(ctx context.Context, tenant, accountID, hostID, supportType string) ([]app.Fulfillment, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+fulfillmentBasicCols+` FROM fulfillments
		WHERE tenant_id = $1 AND account_id = $2 AND support_type = $3 AND $4 = ANY(server_host_ids || node_host_ids)
		ORDER BY created_at, id`, tenant, accountID, supportType, hostID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.Fulfillment, error) { return scanFulfillment(r) })
}

var hostSchema = filter.Schema{
	"host_id":       {Column: "h.host_id", Kind: filter.Text},
	"kind":          {Column: "h.kind", Kind: filter.Exact},
	"last_use_time": {Column: "h.last_used", Kind: filter.Time},
}

// ListHosts lists a page of an account's hosts with what their live fulfillments hold.
func (s *Store) ListHosts(ctx context.Context, tenant, accountID string, q filter.Query) ([]app.Host, string, error) {
	plan, err := hostSchema.Plan(q, "h.host_id", 3)
	if err != nil {
		return nil, "", err
	}
	rows, err := s.pool.Query(ctx, `SELECT h.host_id, h.kind, h.account_id, h.created_at, h.last_used,
			(SELECT count(*) FROM fulfillments f WHERE f.tenant_id = h.tenant_id AND f.account_id = h.account_id AND f.support_type = 'master'
				AND h.host_id = ANY(f.server_host_ids || f.node_host_ids)),
			(SELECT coalesce(sum(f.quantity), 0) FROM fulfillments f WHERE f.tenant_id = h.tenant_id AND f.account_id = h.account_id AND f.support_type = 'master'
				AND h.host_id = ANY(f.server_host_ids || f.node_host_ids)),
			`+plan.SortKey+` AS sort_key
		FROM hosts h WHERE h.tenant_id = $1 AND h.account_id = $2 AND `+plan.Where+` ORDER BY `+plan.OrderBy+` LIMIT `+strconv.Itoa(plan.Limit),
		append([]any{tenant, accountID}, plan.Args...)...)
	if err != nil {
		return nil, "", err
	}
	return filter.CollectPage(plan, rows, func(r pgx.CollectableRow, h *app.Host, key *string) error {
		return r.Scan(&h.HostID, &h.Kind, &h.AccountID, &h.FirstUse, &h.LastUse, &h.Fulfillments, &h.Seats, key)
	}, func(h app.Host) string { return h.HostID })
}

// HostKnown reports whether an account ever activated for the host.
func (s *Store) HostKnown(ctx context.Context, tenant, accountID, hostID string) (bool, error) {
	var known bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM hosts WHERE tenant_id = $1 AND account_id = $2 AND host_id = $3)`, tenant, accountID, hostID).Scan(&known)
	return known, err
}
