package store

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/filter"
)

// catalogTable reads one kind of catalog row (keyed by tenant and ID, created with an
// optional request ID).
type catalogTable[T any] struct {
	table, cols, resource string
	scan                  func(pgx.Row) (T, error)
}

// create runs one INSERT; when it clashes, a row an earlier request with the same
// request ID made is returned as the result, anything else is AlreadyExists.
func (c catalogTable[T]) create(ctx context.Context, s *Store, tenant, id, displayName, requestID, insert string, args ...any) (T, error) {
	var zero T
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, insert, args...); err != nil {
			return err
		}
		return catalogChanged(ctx, tx, tenant, c.resource, id, displayName, "created")
	})
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

// catalogChanged records a catalog change as an event, and so on the audit trail.
func catalogChanged(ctx context.Context, tx pgx.Tx, tenant, resource, id, displayName, change string) error {
	kind := strings.ReplaceAll(resource, " ", "_")
	_, err := events.Write(ctx, tx, events.Subject("entitlement", kind, change), tenant, &eventspb.CatalogChanged{Resource: kind, Id: id, DisplayName: displayName})
	return err
}

func (c catalogTable[T]) get(ctx context.Context, s *Store, tenant, id string) (T, error) {
	v, err := c.scan(s.pool.QueryRow(ctx, `SELECT `+c.cols+` FROM `+c.table+` WHERE tenant_id = $1 AND id = $2`, tenant, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return v, errs.NotFound(c.resource, id)
	}
	return v, err
}

// page lists one page of the tenant's rows for q (filter and order from schema);
// id names a row for the page token.
func (c catalogTable[T]) page(ctx context.Context, s *Store, tenant string, schema filter.Schema, q filter.Query, id func(T) string) ([]T, string, error) {
	plan, err := schema.Plan(q, "id", 2)
	if err != nil {
		return nil, "", err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+c.cols+`, `+plan.SortKey+` FROM `+c.table+` WHERE tenant_id = $1 AND `+plan.Where+
		` ORDER BY `+plan.OrderBy+` LIMIT `+strconv.Itoa(plan.Limit), append([]any{tenant}, plan.Args...)...)
	if err != nil {
		return nil, "", err
	}
	return filter.CollectPage(plan, rows, func(r pgx.CollectableRow, item *T, key *string) error {
		v, err := c.scan(keyedRow{r, key})
		*item = v
		return err
	}, id)
}

// keyedRow reads a row's trailing sort key (selected after the table's columns)
// into key, so that a table's scan func serves paged lists unchanged.
type keyedRow struct {
	pgx.Row
	key *string
}

func (r keyedRow) Scan(dest ...any) error { return r.Row.Scan(append(dest, r.key)...) }
