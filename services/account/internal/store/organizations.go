package store

import (
	"context"
	"errors"
	"strconv"

	"github.com/jackc/pgx/v5"

	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/account/internal/app"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/filter"
	"github.com/tessera-dev/tessera/services/platform/pg"
)

var errInOrganization = errs.FailedPrecondition("ALREADY_IN_ORGANIZATION", "a user belongs to one organization at most")

func orgEvent(ctx context.Context, tx pgx.Tx, tenant, change string, ev *eventspb.OrganizationChanged) error {
	_, err := events.Write(ctx, tx, events.Subject("account", "organization", change), tenant, ev)
	return err
}

// memberErr turns the one-organization-per-user index into its refusal.
func memberErr(err error) error {
	if e := errs.FromPostgres(err); e != nil && e.Kind == errs.KindAlreadyExists && e.Metadata["constraint"] == "organization_members_user" {
		return errInOrganization
	}
	return err
}

// CreateOrganization stores an organization with its administrator as first member,
// or returns the one an earlier request with the same request ID made.
func (s *Store) CreateOrganization(ctx context.Context, tenant string, o app.Organization, adminEmail string) (app.Organization, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO organizations (tenant_id, id, display_name, permission_key, entitlement_id, activation_id, account_id, admin_user_id, request_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			tenant, o.ID, o.DisplayName, o.Key, o.EntitlementID, o.ActivationID, o.AccountID, o.AdminUserID, pg.NullIfEmpty(o.RequestID)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO organization_members (tenant_id, organization_id, email, user_id, status, joined_at)
			VALUES ($1, $2, lower($3), $4, 'active', now())`, tenant, o.ID, adminEmail, o.AdminUserID); err != nil {
			return memberErr(err)
		}
		return orgEvent(ctx, tx, tenant, "created", &eventspb.OrganizationChanged{OrganizationId: o.ID, UserId: o.AdminUserID})
	})
	if e := errs.FromPostgres(err); e != nil && e.Kind == errs.KindAlreadyExists && o.RequestID != "" {
		if prev, perr := s.GetOrganization(ctx, tenant, o.ID); perr == nil && prev.RequestID == o.RequestID {
			return prev, nil
		}
		return app.Organization{}, errs.AlreadyExists("organization", o.ID)
	}
	if err != nil {
		return app.Organization{}, err
	}
	return s.GetOrganization(ctx, tenant, o.ID)
}

// GetOrganization reads an organization with its members and seat grants.
func (s *Store) GetOrganization(ctx context.Context, tenant, id string) (app.Organization, error) {
	o := app.Organization{ID: id}
	err := s.pool.QueryRow(ctx, `SELECT display_name, permission_key, entitlement_id, activation_id, account_id, admin_user_id, co_admin_user_id, coalesce(request_id, ''), created_at
		FROM organizations WHERE tenant_id = $1 AND id = $2`, tenant, id).
		Scan(&o.DisplayName, &o.Key, &o.EntitlementID, &o.ActivationID, &o.AccountID, &o.AdminUserID, &o.CoAdminUserID, &o.RequestID, &o.CreateTime)
	if errors.Is(err, pgx.ErrNoRows) {
		return o, errs.NotFound("organization", id)
	}
	if err != nil {
		return o, err
	}
	rows, err := s.pool.Query(ctx, `SELECT email, coalesce(user_id, ''), status, invited_at, joined_at FROM organization_members
		WHERE tenant_id = $1 AND organization_id = $2 ORDER BY invited_at, email`, tenant, id)
	if err != nil {
		return o, err
	}
	if o.Members, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.OrgMember, error) {
		var m app.OrgMember
		err := r.Scan(&m.Email, &m.UserID, &m.Status, &m.InviteTime, &m.JoinTime)
		return m, err
	}); err != nil {
		return o, err
	}
	rows, err = s.pool.Query(ctx, `SELECT user_id, product_id, seats FROM organization_grants
		WHERE tenant_id = $1 AND organization_id = $2 ORDER BY product_id, user_id`, tenant, id)
	if err != nil {
		return o, err
	}
	o.Grants, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.SeatGrant, error) {
		var g app.SeatGrant
		err := r.Scan(&g.UserID, &g.ProductID, &g.Seats)
		return g, err
	})
	return o, err
}

var organizationSchema = filter.Schema{
	"display_name":   {Column: "o.display_name", Kind: filter.Text},
	"permission_key": {Column: "o.permission_key", Kind: filter.Text},
	"account":        {Column: "o.account_id", Kind: filter.Exact, Collection: "accounts"},
	"create_time":    {Column: "o.created_at", Kind: filter.Time},
}

// ListOrganizations lists a page of the organizations userID belongs to, or of all
// ("") , as IDs; the use case reads each in full.
func (s *Store) ListOrganizations(ctx context.Context, tenant, userID string, q filter.Query) ([]app.Organization, string, error) {
	plan, err := organizationSchema.Plan(q, "o.id", 3)
	if err != nil {
		return nil, "", err
	}
	rows, err := s.pool.Query(ctx, `SELECT o.id, `+plan.SortKey+` FROM organizations o WHERE o.tenant_id = $1 AND ($2 = '' OR EXISTS (
		SELECT 1 FROM organization_members m WHERE m.tenant_id = o.tenant_id AND m.organization_id = o.id AND m.user_id = $2))
		AND `+plan.Where+` ORDER BY `+plan.OrderBy+` LIMIT `+strconv.Itoa(plan.Limit), append([]any{tenant, userID}, plan.Args...)...)
	if err != nil {
		return nil, "", err
	}
	return filter.CollectPage(plan, rows, func(r pgx.CollectableRow, o *app.Organization, key *string) error { return r.Scan(&o.ID, key) },
		func(o app.Organization) string { return o.ID })
}

// AddInvitations stores pending invitations for addresses not yet in the
// organization and returns those.
func (s *Store) AddInvitations(ctx context.Context, tenant, orgID string, invites []app.Invitation) ([]string, error) {
	var added []string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		added = added[:0]
		for _, inv := range invites {
			tag, err := tx.Exec(ctx, `INSERT INTO organization_members (tenant_id, organization_id, email, status, invite_hash)
				VALUES ($1, $2, $3, 'pending', $4) ON CONFLICT DO NOTHING`, tenant, orgID, inv.Email, inv.Hash)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				continue
			}
			added = append(added, inv.Email)
			if err := orgEvent(ctx, tx, tenant, "invited", &eventspb.OrganizationChanged{OrganizationId: orgID, Email: inv.Email}); err != nil {
				return err
			}
		}
		return nil
	})
	return added, err
}

// AcceptInvitation turns the pending invitation with this token hash, sent to
// email, into userID's membership and returns the organization.
func (s *Store) AcceptInvitation(ctx context.Context, tenant string, hash []byte, userID, email string) (string, error) {
	var orgID string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var invited string
		err := tx.QueryRow(ctx, `SELECT organization_id, email FROM organization_members
			WHERE tenant_id = $1 AND invite_hash = $2 AND status = 'pending' FOR UPDATE`, tenant, hash).Scan(&orgID, &invited)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && invited != email) {
			// The same answer for unknown tokens and other people's invitations.
			return errs.NotFound("invitation", "")
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE organization_members SET user_id = $4, status = 'active', joined_at = now(), invite_hash = NULL
			WHERE tenant_id = $1 AND organization_id = $2 AND email = $3`, tenant, orgID, invited, userID); err != nil {
			return memberErr(err)
		}
		return orgEvent(ctx, tx, tenant, "joined", &eventspb.OrganizationChanged{OrganizationId: orgID, UserId: userID, Email: invited})
	})
	return orgID, err
}

// SetMemberStatus enables or disables a joined member.
func (s *Store) SetMemberStatus(ctx context.Context, tenant, orgID, userID, status string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE organization_members SET status = $4 WHERE tenant_id = $1 AND organization_id = $2 AND user_id = $3 AND status <> 'pending'`,
			tenant, orgID, userID, status)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errs.Invalid("user", "is not a member who has joined")
		}
		if status == app.MemberDisabled {
			// Disabled members drop off every product's list; re-enabled ones start
			// with no seats, so re-enabling can never overbook a product.
			if _, err := tx.Exec(ctx, `DELETE FROM organization_grants WHERE tenant_id = $1 AND organization_id = $2 AND user_id = $3`, tenant, orgID, userID); err != nil {
				return err
			}
		}
		change := map[string]string{app.MemberActive: "enabled", app.MemberDisabled: "disabled"}[status]
		return orgEvent(ctx, tx, tenant, change, &eventspb.OrganizationChanged{OrganizationId: orgID, UserId: userID})
	})
}

// RemoveMember removes a member by user ID, or an invitation by email, with any
// seats and the co-administrator role.
func (s *Store) RemoveMember(ctx context.Context, tenant, orgID, member string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var userID, email string
		err := tx.QueryRow(ctx, `DELETE FROM organization_members WHERE tenant_id = $1 AND organization_id = $2 AND (user_id = $3 OR email = $3)
			RETURNING coalesce(user_id, ''), email`, tenant, orgID, member).Scan(&userID, &email)
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.Invalid("member", "is neither a member nor an invited address")
		}
		if err != nil {
			return err
		}
		if userID != "" {
			if _, err := tx.Exec(ctx, `DELETE FROM organization_grants WHERE tenant_id = $1 AND organization_id = $2 AND user_id = $3`, tenant, orgID, userID); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE organizations SET co_admin_user_id = '' WHERE tenant_id = $1 AND id = $2 AND co_admin_user_id = $3`, tenant, orgID, userID); err != nil {
				return err
			}
		}
		return orgEvent(ctx, tx, tenant, "removed", &eventspb.OrganizationChanged{OrganizationId: orgID, UserId: userID, Email: email})
	})
}

// SetCoAdmin sets (or clears) the one co-administrator.
func (s *Store) SetCoAdmin(ctx context.Context, tenant, orgID, userID string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE organizations SET co_admin_user_id = $3 WHERE tenant_id = $1 AND id = $2`, tenant, orgID, userID); err != nil {
			return err
		}
		return orgEvent(ctx, tx, tenant, "co_admin_set", &eventspb.OrganizationChanged{OrganizationId: orgID, UserId: userID})
	})
}

// SetGrant sets a member's seats of a product. Under a lock on the organization it
// checks that the member is active and that the members' seats of the product stay
// within licensed (disabled members hold none).
func (s *Store) SetGrant(ctx context.Context, tenant, orgID string, g app.SeatGrant, licensed int64) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM organizations WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenant, orgID); err != nil {
			return err
		}
		var active bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM organization_members WHERE tenant_id = $1 AND organization_id = $2 AND user_id = $3 AND status = 'active')`,
			tenant, orgID, g.UserID).Scan(&active); err != nil {
			return err
		}
		if !active {
			return errs.Invalid("user", "is not an active member")
		}
		var others int64
		if err := tx.QueryRow(ctx, `SELECT coalesce(sum(seats), 0) FROM organization_grants
			WHERE tenant_id = $1 AND organization_id = $2 AND product_id = $3 AND user_id <> $4`,
			tenant, orgID, g.ProductID, g.UserID).Scan(&others); err != nil {
			return err
		}
		if others+g.Seats > licensed {
			return errs.FailedPrecondition("SEATS_EXCEEDED", "%d seats of %s are licensed and %d are granted to others; %d more cannot be granted",
				licensed, g.ProductID, others, g.Seats)
		}
		var err error
		if g.Seats == 0 {
			_, err = tx.Exec(ctx, `DELETE FROM organization_grants WHERE tenant_id = $1 AND organization_id = $2 AND user_id = $3 AND product_id = $4`, tenant, orgID, g.UserID, g.ProductID)
		} else {
			_, err = tx.Exec(ctx, `INSERT INTO organization_grants (tenant_id, organization_id, user_id, product_id, seats) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (tenant_id, organization_id, user_id, product_id) DO UPDATE SET seats = excluded.seats`, tenant, orgID, g.UserID, g.ProductID, g.Seats)
		}
		if err != nil {
			return err
		}
		return orgEvent(ctx, tx, tenant, "seats_granted", &eventspb.OrganizationChanged{OrganizationId: orgID, UserId: g.UserID, ProductId: g.ProductID, Seats: g.Seats})
	})
}
