// Package store keeps the license service's fulfillments and signing keys in
// Postgres.
package store

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/license/internal/app"
	"github.com/tessera-dev/tessera/services/license/internal/keys"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/ids"
	"github.com/tessera-dev/tessera/services/platform/seats"
)

// Store implements app.Store.
type Store struct {
	pool   *pgxpool.Pool
	sealer keys.Sealer
	// active caches each tenant's unsealed active key; signing is on the hot path.
	active sync.Map // tenant → app.SigningKey
}

// New returns a store over pool (search path: the license schema).
func New(pool *pgxpool.Pool, sealer keys.Sealer) *Store { return &Store{pool: pool, sealer: sealer} }

const fulfillmentCols = `id, activation_id, account_id, host_id, quantity, state, license_text, key_id, request_id, claim_id, user_id, created_at`

func scanFulfillment(row pgx.Row) (app.Fulfillment, error) {
	var f app.Fulfillment
	err := row.Scan(&f.ID, &f.ActivationID, &f.AccountID, &f.HostID, &f.Quantity, &f.State, &f.LicenseText, &f.KeyID, &f.RequestID, &f.ClaimID, &f.UserID, &f.CreateTime)
	return f, err
}

// FulfillmentByRequest finds the fulfillment an idempotency key produced.
func (s *Store) FulfillmentByRequest(ctx context.Context, tenant, requestID string) (app.Fulfillment, error) {
	f, err := scanFulfillment(s.pool.QueryRow(ctx, `SELECT `+fulfillmentCols+` FROM fulfillments WHERE tenant_id = $1 AND request_id = $2`, tenant, requestID))
	if errors.Is(err, pgx.ErrNoRows) {
		return f, errs.NotFound("fulfillment", requestID)
	}
	return f, err
}

// GetFulfillment reads one fulfillment.
func (s *Store) GetFulfillment(ctx context.Context, tenant, id string) (app.Fulfillment, error) {
	f, err := scanFulfillment(s.pool.QueryRow(ctx, `SELECT `+fulfillmentCols+` FROM fulfillments WHERE tenant_id = $1 AND id = $2`, tenant, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return f, errs.NotFound("fulfillment", id)
	}
	return f, err
}

// CreateFulfillment stores f, commits its seat claim and writes fulfillment.created.
func (s *Store) CreateFulfillment(ctx context.Context, tenant string, f app.Fulfillment) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var created time.Time
		err := tx.QueryRow(ctx, `INSERT INTO fulfillments (tenant_id, id, activation_id, account_id, host_id, quantity, state, license_text, key_id, request_id, claim_id, user_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING created_at`,
			tenant, f.ID, f.ActivationID, f.AccountID, f.HostID, f.Quantity, f.State, f.LicenseText, f.KeyID, f.RequestID, f.ClaimID, f.UserID).Scan(&created)
		if err != nil {
			return err
		}
		if err := seats.Commit(ctx, tx, f.ClaimID); err != nil {
			return err
		}
		_, err = events.Write(ctx, tx, events.Subject("license", "fulfillment", "created"), tenant, &eventspb.FulfillmentCreated{
			FulfillmentId: f.ID, ActivationId: f.ActivationID, AccountId: f.AccountID, HostId: f.HostID,
			Quantity: f.Quantity, UserId: f.UserID, LicenseText: f.LicenseText, CreateTime: timestamppb.New(created),
		})
		return err
	})
}

// ActiveKey returns the tenant's active signing key, creating one if it has none.
// Concurrent first calls agree on one key through the one-active-key index.
func (s *Store) ActiveKey(ctx context.Context, tenant string) (app.SigningKey, error) {
	if k, ok := s.active.Load(tenant); ok {
		return k.(app.SigningKey), nil
	}
	k, err := s.loadActive(ctx, tenant)
	if errors.Is(err, pgx.ErrNoRows) {
		if err := s.createKey(ctx, tenant); err != nil {
			return app.SigningKey{}, err
		}
		k, err = s.loadActive(ctx, tenant)
	}
	if err != nil {
		return app.SigningKey{}, err
	}
	s.active.Store(tenant, k)
	return k, nil
}

func additional(tenant, keyID string) []byte { return []byte(tenant + "/" + keyID) }

func (s *Store) loadActive(ctx context.Context, tenant string) (app.SigningKey, error) {
	var k app.SigningKey
	var sealed []byte
	err := s.pool.QueryRow(ctx, `SELECT id, algorithm, public_key, sealed_private_key, active, created_at FROM signing_keys WHERE tenant_id = $1 AND active`, tenant).
		Scan(&k.ID, &k.Algorithm, &k.Public, &sealed, &k.Active, &k.CreateTime)
	if err != nil {
		return k, err
	}
	seed, err := s.sealer.Open(sealed, additional(tenant, k.ID))
	if err != nil {
		return k, errors.New("license: the signing key cannot be unsealed with the configured master key")
	}
	k.Private = ed25519.NewKeyFromSeed(seed)
	return k, nil
}

func (s *Store) createKey(ctx context.Context, tenant string) error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	id := ids.New("KEY", 2)
	sealed, err := s.sealer.Seal(priv.Seed(), additional(tenant, id))
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO signing_keys (tenant_id, id, algorithm, public_key, sealed_private_key, active)
		VALUES ($1, $2, 'ed25519', $3, $4, true) ON CONFLICT (tenant_id) WHERE active DO NOTHING`, tenant, id, []byte(pub), sealed)
	return err
}

// ListKeys returns every key of the tenant, public halves only.
func (s *Store) ListKeys(ctx context.Context, tenant string) ([]app.SigningKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, algorithm, public_key, active, created_at FROM signing_keys WHERE tenant_id = $1 ORDER BY created_at`, tenant)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.SigningKey, error) {
		var k app.SigningKey
		err := r.Scan(&k.ID, &k.Algorithm, &k.Public, &k.Active, &k.CreateTime)
		return k, err
	})
}
