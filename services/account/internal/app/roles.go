package app

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
)

// CustomRole is a tenant's own named set of permissions.
type CustomRole struct {
	ID, DisplayName, Description string
	TenantWide                   bool
	Permissions                  []authz.Permission
	CreateTime, UpdateTime       time.Time
}

func (r CustomRole) role() authz.Role {
	return authz.Role{ID: r.ID, TenantWide: r.TenantWide, Permissions: r.Permissions}
}

// RoleStore keeps custom roles.
type RoleStore interface {
	CreateRole(ctx context.Context, tenant string, r CustomRole) (CustomRole, error)
	ListRoles(ctx context.Context, tenant string) ([]CustomRole, error)
	// ListRolesAfter lists up to limit custom roles by ID, after the given ID.
	ListRolesAfter(ctx context.Context, tenant, afterID string, limit int) ([]CustomRole, error)
	UpdateRole(ctx context.Context, tenant, id string, fn func(*CustomRole) error) (CustomRole, error)
	DeleteRole(ctx context.Context, tenant, id string) error
}

var roleID = regexp.MustCompile(`^[a-z][a-z0-9_]{1,39}$`)

// RolePatch holds what UpdateRole changes; nil fields stay.
type RolePatch struct {
	DisplayName, Description *string
	Permissions              *[]authz.Permission
}

func checkRole(v *errs.Violations, r CustomRole) {
	v.Require("role.display_name", r.DisplayName)
	if len(r.DisplayName) > 100 || len(r.Description) > 1000 {
		v.Add("role.display_name", "name at most 100 and description at most 1000 characters")
	}
	if len(r.Permissions) == 0 {
		v.Add("role.permissions", "a role holds at least one permission")
	}
	for i, p := range r.Permissions {
		if !authz.Grantable[p] {
			v.Add(fmt.Sprintf("role.permissions[%d]", i), "%q is not a permission roles can hold", p)
		} else if slices.Contains(r.Permissions[:i], p) {
			v.Add(fmt.Sprintf("role.permissions[%d]", i), "%q is listed twice", p)
		}
	}
}

// CreateRole defines a custom role. Only tenant-wide roles may hold producer-only
// permissions; they are granted in the producer account alone.
func (a *App) CreateRole(ctx context.Context, r CustomRole) (CustomRole, error) {
	var v errs.Violations
	if !roleID.MatchString(r.ID) {
		v.Add("role_id", "must be 2-40 lower-case letters, digits or '_', starting with a letter")
	} else if _, builtIn := authz.Roles[r.ID]; builtIn {
		v.Add("role_id", "%q is a built-in role", r.ID)
	}
	checkRole(&v, r)
	checkProducerOnly(&v, r)
	if err := v.Err(); err != nil {
		return CustomRole{}, err
	}
	return a.store.CreateRole(ctx, authz.MustTenant(ctx), r)
}

func checkProducerOnly(v *errs.Violations, r CustomRole) {
	for i, p := range r.Permissions {
		if authz.ProducerOnly(p) && !r.TenantWide {
			v.Add(fmt.Sprintf("role.permissions[%d]", i), "%q needs a tenant-wide role", p)
		}
	}
}

// UpdateRole changes a custom role; its holders' cached sessions are refreshed.
func (a *App) UpdateRole(ctx context.Context, id string, patch RolePatch) (CustomRole, error) {
	if _, builtIn := authz.Roles[id]; builtIn {
		return CustomRole{}, errs.FailedPrecondition("BUILT_IN_ROLE", "built-in role %s cannot be changed", id)
	}
	return a.store.UpdateRole(ctx, authz.MustTenant(ctx), id, func(r *CustomRole) error {
		if patch.DisplayName != nil {
			r.DisplayName = *patch.DisplayName
		}
		if patch.Description != nil {
			r.Description = *patch.Description
		}
		if patch.Permissions != nil {
			r.Permissions = *patch.Permissions
		}
		var v errs.Violations
		checkRole(&v, *r)
		checkProducerOnly(&v, *r)
		return v.Err()
	})
}

// DeleteRole deletes a custom role nobody holds.
func (a *App) DeleteRole(ctx context.Context, id string) error {
	if _, builtIn := authz.Roles[id]; builtIn {
		return errs.FailedPrecondition("BUILT_IN_ROLE", "built-in role %s cannot be deleted", id)
	}
	return a.store.DeleteRole(ctx, authz.MustTenant(ctx), id)
}

// ListRoles returns a page of the roles: the built-in ones, then the tenant's own,
// each sorted by ID. A page token keeps the last role's ID and which of the two
// parts it was in ("b:" built-in, "c:" custom).
func (a *App) ListRoles(ctx context.Context, pageSize int, pageToken string) ([]CustomRole, string, error) {
	size, after, err := page(pageSize, pageToken)
	if err != nil {
		return nil, "", err
	}
	part, afterID, err := roleCursor(after)
	if err != nil {
		return nil, "", err
	}
	var out []CustomRole
	if part != "c" {
		for _, id := range slices.Sorted(maps.Keys(authz.Roles)) {
			if id > afterID {
				r := authz.Roles[id]
				out = append(out, CustomRole{ID: r.ID, DisplayName: r.ID, TenantWide: r.TenantWide, Permissions: r.Permissions})
			}
		}
		afterID = ""
	}
	if len(out) <= size {
		custom, err := a.store.ListRolesAfter(ctx, authz.MustTenant(ctx), afterID, size+1-len(out))
		if err != nil {
			return nil, "", err
		}
		out = append(out, custom...)
	}
	if len(out) <= size {
		return out, "", nil
	}
	out = out[:size]
	last := out[size-1].ID
	if _, builtIn := authz.Roles[last]; builtIn {
		return out, nextPage("b:" + last), nil
	}
	return out, nextPage("c:" + last), nil
}

// roleCursor reads where a page of roles starts: "" from the beginning, else "b:"
// or "c:" (after a built-in or a custom role) and the role's ID.
func roleCursor(after string) (part, id string, err error) {
	if after == "" {
		return "", "", nil
	}
	part, id, _ = strings.Cut(after, ":")
	if id == "" || (part != "b" && part != "c") {
		return "", "", errs.Invalid("page_token", "is not a token this service issued")
	}
	return part, id, nil
}

// roles returns every role of the tenant, built-in and custom, by ID.
func (a *App) roles(ctx context.Context, tenant string) (map[string]authz.Role, error) {
	custom, err := a.store.ListRoles(ctx, tenant)
	if err != nil {
		return nil, err
	}
	out := maps.Clone(authz.Roles)
	for _, r := range custom {
		out[r.ID] = r.role()
	}
	return out, nil
}

// canGrant reports whether the caller may hand out a role: tenant-wide callers any,
// others only roles whose permissions they hold themselves, so nobody grants more
// than they have.
func canGrant(p interface{ GetPermissions() []string }, tenantWide bool, r authz.Role) bool {
	if tenantWide {
		return true
	}
	for _, perm := range r.Permissions {
		if !slices.Contains(p.GetPermissions(), string(perm)) {
			return false
		}
	}
	return true
}
