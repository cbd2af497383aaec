package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-dev/tessera/services/platform/errs"
)

// catalogTable reads one kind of catalog row (keyed by tenant and ID, created with an
// optional request ID).
type catalogTable[T any] struct {
	table, cols, resource string
	scan                  func(pgx.Row) (T, error)
}

// create runs one INSERT; when it clashes, a row an earlier request with the same
// request ID made is returned as the result, anything else is AlreadyExists.
func (c catalogTable[T]) create(ctx context.Context, s *Store, tenant, id, requestID, insert string, args ...any) (T, error) {
	var zero T
	_, err := s.pool.Exec(ctx, insert, args...)
	if e := errs.FromPostgres(err); e != nil && e.Kind == errs.KindAlreadyExists {
		if requestID != "" {
			prev, perr := c.scan(s.pool.QueryRow(ctx, `SELECT `+c.cols+` FROM `+c.table+` WHERE tenant_id = $1 AND request_id = $2`, tenant, requestID))
			if perr == nil {
				return prev, nil
			}
		}
		return zero, errs.AlreadyExists(c.resource, id)
	}
	if err != nil {
		return zero, err
	}
	return c.get(ctx, s, tenant, id)
}

func (c catalogTable[T]) get(ctx context.Context, s *Store, tenant, id string) (T, error) {
	v, err := c.scan(s.pool.QueryRow(ctx, `SELECT `+c.cols+` FROM `+c.table+` WHERE tenant_id = $1 AND id = $2`, tenant, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return v, errs.NotFound(c.resource, id)
	}
	return v, err
}

func (c catalogTable[T]) list(ctx context.Context, s *Store, tenant string) ([]T, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+c.cols+` FROM `+c.table+` WHERE tenant_id = $1 ORDER BY id`, tenant)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) { return c.scan(r) })
}
