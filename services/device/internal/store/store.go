// Package store keeps the device service's data in Postgres.
package store

import (
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tessera-dev/tessera/services/platform/events"
)

// Store implements app.Store.
type Store struct {
	pool *pgxpool.Pool
	// changes bounds the device changes in flight (see ChangeDevices).
	changes chan struct{}
	// wake wakes the relay after mapping changes (their transactions do not notify).
	wake *events.Waker
}

// New returns a store over pool (search path: the device schema).
func New(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, changes: make(chan struct{}, max(1, pool.Config().MaxConns/2)), wake: events.NewWaker(pool)}
}
