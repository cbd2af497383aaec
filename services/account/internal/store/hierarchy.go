package store

import (
	"context"

	"github.com/jackc/pgx/v5"

	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/account/internal/app"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/events"
)

// maxTreeDepth bounds every walk of the hierarchy.
const maxTreeDepth = 50

// lockTree serializes changes to one tenant's hierarchy, so two links that together
// would close a cycle cannot both pass the check.
func lockTree(ctx context.Context, tx pgx.Tx, tenant string) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('account-tree:' || $1))`, tenant)
	return err
}

const descendantsSQL = `WITH RECURSIVE down (id, depth) AS (
		SELECT child_id, 1 FROM account_links WHERE tenant_id = $1 AND parent_id = ANY($2)
		UNION
		SELECT l.child_id, d.depth + 1 FROM account_links l JOIN down d ON l.parent_id = d.id
		WHERE l.tenant_id = $1 AND d.depth < $3)
	SELECT DISTINCT id FROM down`

// LinkAccounts makes child a sub-account of parent, refusing cycles. Linking twice
// is a no-op.
func (s *Store) LinkAccounts(ctx context.Context, tenant, parent, child string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockTree(ctx, tx, tenant); err != nil {
			return err
		}
		var cycle bool
		// A cycle: the parent is the child, or sits below it already.
		if err := tx.QueryRow(ctx, `SELECT $4 = $5 OR $4 IN (`+descendantsSQL+`)`,
			tenant, []string{child}, maxTreeDepth, parent, child).Scan(&cycle); err != nil {
			return err
		}
		if cycle {
			return errs.FailedPrecondition("ACCOUNT_CYCLE", "account %s is below %s already; linking it as its parent would close a cycle", parent, child)
		}
		tag, err := tx.Exec(ctx, `INSERT INTO account_links (tenant_id, parent_id, child_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, tenant, parent, child)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		_, err = events.Write(ctx, tx, events.Subject("account", "account", "linked"), tenant, &eventspb.AccountLinked{ParentId: parent, ChildId: child})
		return err
	})
}

// UnlinkAccounts removes a link.
func (s *Store) UnlinkAccounts(ctx context.Context, tenant, parent, child string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockTree(ctx, tx, tenant); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM account_links WHERE tenant_id = $1 AND parent_id = $2 AND child_id = $3`, tenant, parent, child)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errs.NotFound("account link", parent+"/"+child)
		}
		_, err = events.Write(ctx, tx, events.Subject("account", "account", "unlinked"), tenant, &eventspb.AccountLinked{ParentId: parent, ChildId: child})
		return err
	})
}

// Descendants returns every account below the roots (not the roots themselves).
func (s *Store) Descendants(ctx context.Context, tenant string, roots []string) ([]string, error) {
	rows, err := s.pool.Query(ctx, descendantsSQL, tenant, roots, maxTreeDepth)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// Links returns the parent → child links among the accounts below root, down to
// maxDepth levels.
func (s *Store) Links(ctx context.Context, tenant, root string, maxDepth int) ([]app.Link, error) {
	rows, err := s.pool.Query(ctx, `WITH RECURSIVE down (parent_id, child_id, depth) AS (
			SELECT parent_id, child_id, 1 FROM account_links WHERE tenant_id = $1 AND parent_id = $2
			UNION
			SELECT l.parent_id, l.child_id, d.depth + 1 FROM account_links l JOIN down d ON l.parent_id = d.child_id
			WHERE l.tenant_id = $1 AND d.depth < $3)
		SELECT DISTINCT parent_id, child_id FROM down ORDER BY parent_id, child_id`, tenant, root, maxDepth)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.Link, error) {
		var l app.Link
		return l, r.Scan(&l.Parent, &l.Child)
	})
}

// Parents returns the parents of each account.
func (s *Store) Parents(ctx context.Context, tenant string, ids []string) (map[string][]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT child_id, parent_id FROM account_links WHERE tenant_id = $1 AND child_id = ANY($2)`, tenant, ids)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for rows.Next() {
		var child, parent string
		if err := rows.Scan(&child, &parent); err != nil {
			return nil, err
		}
		out[child] = append(out[child], parent)
	}
	return out, rows.Err()
}

// GetAccounts reads several accounts.
func (s *Store) GetAccounts(ctx context.Context, tenant string, ids []string) ([]app.Account, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+accountCols+` FROM accounts WHERE tenant_id = $1 AND id = ANY($2) ORDER BY id`, tenant, ids)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.Account, error) { return scanAccount(r) })
}

// DeleteAccounts deletes accounts with their links and memberships; users left
// without any account are deleted too (their tokens with them, and revoked).
func (s *Store) DeleteAccounts(ctx context.Context, tenant string, ids []string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockTree(ctx, tx, tenant); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `DELETE FROM memberships WHERE tenant_id = $1 AND account_id = ANY($2) RETURNING user_id`, tenant, ids)
		if err != nil {
			return err
		}
		touched, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `DELETE FROM users u WHERE u.tenant_id = $1 AND u.id = ANY($2)
			AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.tenant_id = u.tenant_id AND m.user_id = u.id) RETURNING u.id`, tenant, touched)
		if err != nil {
			return err
		}
		gone, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, u := range gone {
			if _, err := events.Write(ctx, tx, events.Subject("account", "token", "revoked"), tenant, &eventspb.TokenRevoked{UserId: u}); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM accounts WHERE tenant_id = $1 AND id = ANY($2)`, tenant, ids); err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := events.Write(ctx, tx, events.Subject("account", "account", "deleted"), tenant, &eventspb.AccountDeleted{AccountId: id}); err != nil {
				return err
			}
		}
		return nil
	})
}

// HiddenFromPartners returns those of ids whose accounts are not visible to partners.
func (s *Store) HiddenFromPartners(ctx context.Context, tenant string, ids []string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM accounts WHERE tenant_id = $1 AND id = ANY($2) AND NOT visible_to_partners`, tenant, ids)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
