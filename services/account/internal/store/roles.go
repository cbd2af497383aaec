package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/account/internal/app"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/events"
)

const roleCols = `id, display_name, description, tenant_wide, permissions, created_at, updated_at`

func scanRole(row pgx.Row) (app.CustomRole, error) {
	var r app.CustomRole
	var perms []string
	err := row.Scan(&r.ID, &r.DisplayName, &r.Description, &r.TenantWide, &perms, &r.CreateTime, &r.UpdateTime)
	for _, p := range perms {
		r.Permissions = append(r.Permissions, authz.Permission(p))
	}
	return r, err
}

func permStrings(ps []authz.Permission) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return out
}

func roleEvent(ctx context.Context, tx pgx.Tx, tenant, change string, r app.CustomRole) error {
	_, err := events.Write(ctx, tx, events.Subject("account", "role", change), tenant, &eventspb.RoleChanged{
		RoleId: r.ID, Permissions: permStrings(r.Permissions), TenantWide: r.TenantWide,
	})
	return err
}

// CreateRole stores a custom role.
func (s *Store) CreateRole(ctx context.Context, tenant string, r app.CustomRole) (app.CustomRole, error) {
	var out app.CustomRole
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		out, err = scanRole(tx.QueryRow(ctx, `INSERT INTO roles (tenant_id, id, display_name, description, tenant_wide, permissions)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+roleCols, tenant, r.ID, r.DisplayName, r.Description, r.TenantWide, permStrings(r.Permissions)))
		if errs.IsKind(err, errs.KindAlreadyExists) {
			return errs.AlreadyExists("role", r.ID)
		}
		if err != nil {
			return err
		}
		return roleEvent(ctx, tx, tenant, "created", out)
	})
	return out, err
}

// ListRoles lists a tenant's custom roles by ID.
func (s *Store) ListRoles(ctx context.Context, tenant string) ([]app.CustomRole, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+roleCols+` FROM roles WHERE tenant_id = $1 ORDER BY id`, tenant)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.CustomRole, error) { return scanRole(r) })
}

// ListRolesAfter lists up to limit of a tenant's custom roles by ID, after afterID.
func (s *Store) ListRolesAfter(ctx context.Context, tenant, afterID string, limit int) ([]app.CustomRole, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+roleCols+` FROM roles WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3`, tenant, afterID, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.CustomRole, error) { return scanRole(r) })
}

// revokeHolders refreshes the sessions of every user holding the role.
func revokeHolders(ctx context.Context, tx pgx.Tx, tenant, roleID string) error {
	rows, err := tx.Query(ctx, `SELECT DISTINCT user_id FROM memberships WHERE tenant_id = $1 AND $2 = ANY(roles)`, tenant, roleID)
	if err != nil {
		return err
	}
	users, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, u := range users {
		if _, err := events.Write(ctx, tx, events.Subject("account", "token", "revoked"), tenant, &eventspb.TokenRevoked{UserId: u}); err != nil {
			return err
		}
	}
	return nil
}

// UpdateRole changes a custom role under a row lock and refreshes its holders.
func (s *Store) UpdateRole(ctx context.Context, tenant, id string, fn func(*app.CustomRole) error) (app.CustomRole, error) {
	var out app.CustomRole
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		r, err := scanRole(tx.QueryRow(ctx, `SELECT `+roleCols+` FROM roles WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenant, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.NotFound("role", id)
		}
		if err != nil {
			return err
		}
		if err := fn(&r); err != nil {
			return err
		}
		if out, err = scanRole(tx.QueryRow(ctx, `UPDATE roles SET display_name = $3, description = $4, permissions = $5, updated_at = now()
			WHERE tenant_id = $1 AND id = $2 RETURNING `+roleCols, tenant, id, r.DisplayName, r.Description, permStrings(r.Permissions))); err != nil {
			return err
		}
		if err := revokeHolders(ctx, tx, tenant, id); err != nil {
			return err
		}
		return roleEvent(ctx, tx, tenant, "updated", out)
	})
	return out, err
}

// DeleteRole deletes a custom role unless a membership holds it. The role row is
// locked first so that no grant can slip in between the check and the delete.
func (s *Store) DeleteRole(ctx context.Context, tenant, id string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		r, err := scanRole(tx.QueryRow(ctx, `SELECT `+roleCols+` FROM roles WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenant, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.NotFound("role", id)
		}
		if err != nil {
			return err
		}
		var held bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM memberships WHERE tenant_id = $1 AND $2 = ANY(roles))`, tenant, id).Scan(&held); err != nil {
			return err
		}
		if held {
			return errs.FailedPrecondition("ROLE_IN_USE", "role %s is still held by users; take it from them first", id)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM roles WHERE tenant_id = $1 AND id = $2`, tenant, id); err != nil {
			return err
		}
		return roleEvent(ctx, tx, tenant, "deleted", r)
	})
}
