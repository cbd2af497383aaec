package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/filter"
	"github.com/tessera-dev/tessera/services/platform/ids"
	mailpkg "github.com/tessera-dev/tessera/services/platform/mail"
)

// Organization member statuses (SPEC ACC-14).
const (
	MemberPending  = "pending"
	MemberActive   = "active"
	MemberDisabled = "disabled"
)

// Organization shares the named-user seats of one permission key among its members.
type Organization struct {
	ID, DisplayName, Key, EntitlementID, ActivationID, AccountID string
	AdminUserID, CoAdminUserID, RequestID                        string
	CreateTime                                                   time.Time
	Members                                                      []OrgMember
	Grants                                                       []SeatGrant
	// Licensed is the seats the key licenses per product (filled on reads).
	Licensed map[string]int64
}

// OrgMember is an invited or joined member.
type OrgMember struct {
	Email, UserID, Status string
	InviteTime            time.Time
	JoinTime              *time.Time
}

// SeatGrant is how many seats of a product a member holds.
type SeatGrant struct {
	UserID, ProductID string
	Seats             int64
}

// Invitation is a pending membership with the hash of its emailed token.
type Invitation struct {
	Email string
	Hash  []byte
}

// OrgStore keeps organizations; every change writes its event.
type OrgStore interface {
	CreateOrganization(ctx context.Context, tenant string, o Organization, adminEmail string) (Organization, error)
	GetOrganization(ctx context.Context, tenant, id string) (Organization, error)
	ListOrganizations(ctx context.Context, tenant, userID string, q filter.Query) ([]Organization, string, error)
	AddInvitations(ctx context.Context, tenant, orgID string, invites []Invitation) ([]string, error)
	AcceptInvitation(ctx context.Context, tenant string, hash []byte, userID, email string) (string, error)
	SetMemberStatus(ctx context.Context, tenant, orgID, userID, status string) error
	RemoveMember(ctx context.Context, tenant, orgID, member string) error
	SetCoAdmin(ctx context.Context, tenant, orgID, userID string) error
	SetGrant(ctx context.Context, tenant, orgID string, g SeatGrant, licensed int64) error
}

// CreateOrganization makes an organization from a permission key of the caller's
// accounts, with the caller as its administrator and first member. A user belongs to
// one organization at most.
func (a *App) CreateOrganization(ctx context.Context, name, key, requestID string) (Organization, error) {
	p, err := orgUser(ctx)
	if err != nil {
		return Organization{}, err
	}
	var v errs.Violations
	v.Require("organization.display_name", strings.TrimSpace(name))
	v.Require("organization.permission_key", key)
	if len(name) > 200 {
		v.Add("organization.display_name", "must be at most 200 characters")
	}
	if err := v.Err(); err != nil {
		return Organization{}, err
	}
	k, err := a.keys.Resolve(ctx, key, false)
	if err != nil && !errs.IsKind(err, errs.KindNotFound) {
		return Organization{}, err
	}
	if err != nil || k.AccountID == "" || !authz.CanActFor(p, k.AccountID) {
		return Organization{}, errs.Invalid("organization.permission_key", "is not an entitlement ID or activation ID of your accounts")
	}
	me, err := a.store.GetUser(ctx, p.GetTenantId(), p.GetUserId())
	if err != nil {
		return Organization{}, err
	}
	o := Organization{
		ID: ids.ForRequest(p.GetTenantId(), "ORG", requestID), DisplayName: strings.TrimSpace(name), Key: key,
		EntitlementID: k.EntitlementID, ActivationID: k.ActivationID, AccountID: k.AccountID, AdminUserID: me.ID, RequestID: requestID,
	}
	if _, err := a.store.CreateOrganization(ctx, p.GetTenantId(), o, me.Email); err != nil {
		return Organization{}, err
	}
	return a.readOrganization(ctx, p.GetTenantId(), o.ID)
}

// orgUser is the user behind a request; organizations are for people, not for
// services or sessions opened with an entitlement ID.
func orgUser(ctx context.Context) (*commonpb.Principal, error) {
	p, _ := authz.FromContext(ctx)
	if p.GetKind() != commonpb.PrincipalKind_PRINCIPAL_KIND_USER || p.GetUserId() == "" {
		return nil, errs.PermissionDenied(string(authz.OrganizationsUse))
	}
	return p, nil
}

// readOrganization reads an organization with the seats its key licenses.
func (a *App) readOrganization(ctx context.Context, tenant, id string) (Organization, error) {
	o, err := a.store.GetOrganization(ctx, tenant, id)
	if err != nil {
		return o, err
	}
	o.Licensed, err = a.keys.Licensed(ctx, EntitlementKey{EntitlementID: o.EntitlementID, ActivationID: o.ActivationID, AccountID: o.AccountID})
	return o, err
}

func (o Organization) member(userID string) (OrgMember, bool) {
	i := slices.IndexFunc(o.Members, func(m OrgMember) bool { return m.UserID != "" && m.UserID == userID })
	if i < 0 {
		return OrgMember{}, false
	}
	return o.Members[i], true
}

// visibleOrganization returns the organization if the caller belongs to it (or is
// tenant-wide); others get NotFound.
func (a *App) visibleOrganization(ctx context.Context, id string) (*commonpb.Principal, Organization, error) {
	p, _ := authz.FromContext(ctx)
	o, err := a.readOrganization(ctx, p.GetTenantId(), id)
	if err != nil {
		return p, o, err
	}
	if _, ok := o.member(p.GetUserId()); !ok && !p.GetTenantWide() {
		return p, Organization{}, errs.NotFound("organization", id)
	}
	return p, o, nil
}

// administered returns the organization if the caller administers it (admin or
// co-admin; with adminOnly, the admin).
func (a *App) administered(ctx context.Context, id string, adminOnly bool) (Organization, error) {
	p, o, err := a.visibleOrganization(ctx, id)
	if err != nil {
		return o, err
	}
	me := p.GetUserId()
	if me == o.AdminUserID || (!adminOnly && me == o.CoAdminUserID) || p.GetTenantWide() {
		return o, nil
	}
	return o, errs.FailedPrecondition("NOT_ORGANIZATION_ADMIN", "only the organization's administrator may do this")
}

// GetOrganization reads an organization the caller belongs to.
func (a *App) GetOrganization(ctx context.Context, id string) (Organization, error) {
	_, o, err := a.visibleOrganization(ctx, id)
	return o, err
}

// ListOrganizations lists the caller's organizations (all, for producers).
func (a *App) ListOrganizations(ctx context.Context, q filter.Query) ([]Organization, string, error) {
	p, _ := authz.FromContext(ctx)
	user := p.GetUserId()
	if p.GetTenantWide() {
		user = ""
	}
	list, next, err := a.store.ListOrganizations(ctx, p.GetTenantId(), user, q)
	if err != nil {
		return nil, "", err
	}
	for i := range list {
		if list[i], err = a.readOrganization(ctx, p.GetTenantId(), list[i].ID); err != nil {
			return nil, "", err
		}
	}
	return list, next, nil
}

// ParseEmailList splits a semicolon-separated list of plain addresses (SPEC ACC-14)
// into the distinct valid ones, lower-cased and in order, and the entries that are
// not plain addresses. Empty entries are skipped.
func ParseEmailList(list string) (valid, bad []string) {
	for _, e := range strings.Split(list, ";") {
		e = strings.ToLower(strings.TrimSpace(e))
		if e == "" {
			continue
		}
		if addr, err := mail.ParseAddress(e); err != nil || addr.Address != e {
			bad = append(bad, e)
		} else if !slices.Contains(valid, e) {
			valid = append(valid, e)
		}
	}
	return valid, bad
}

// maxInvites bounds one invitation list.
const maxInvites = 100

// InviteMembers invites the semicolon-separated addresses; each gets a link with a
// token of its own (only the token's hash is kept). Addresses already invited or
// members are skipped.
func (a *App) InviteMembers(ctx context.Context, orgID, list string) (Organization, error) {
	emails, bad := ParseEmailList(list)
	var v errs.Violations
	for _, e := range bad {
		v.Add("emails", "%q is not an email address", e)
	}
	if len(emails) == 0 && len(bad) == 0 {
		v.Add("emails", "name at least one address")
	}
	if len(emails) > maxInvites {
		v.Add("emails", "at most %d addresses at a time", maxInvites)
	}
	if err := v.Err(); err != nil {
		return Organization{}, err
	}
	o, err := a.administered(ctx, orgID, false)
	if err != nil {
		return o, err
	}
	tenant := authz.MustTenant(ctx)
	tokens := map[string]string{}
	invites := make([]Invitation, 0, len(emails))
	for _, e := range emails {
		b := make([]byte, 24)
		_, _ = rand.Read(b)
		tokens[e] = "inv_" + hex.EncodeToString(b)
		invites = append(invites, Invitation{Email: e, Hash: HashToken(tokens[e])})
	}
	added, err := a.store.AddInvitations(ctx, tenant, o.ID, invites)
	if err != nil {
		return Organization{}, err
	}
	for _, e := range added {
		// Invitations carry a secret, so they are mailed directly, like temporary
		// passwords (ADR 0005). A failed mail leaves the invitation to be re-sent by
		// removing and inviting again.
		err := a.mailer.Send(ctx, mailpkg.Message{
			To:      []string{e},
			Subject: fmt.Sprintf("Invitation to the organization %q", o.DisplayName),
			Text: fmt.Sprintf("Hello,\n\nyou are invited to share licenses in the organization %q.\n\nSign in and accept:\n  POST %s/v1/invitations/%s:accept\n\nThe invitation stays pending until you accept it.\n",
				o.DisplayName, strings.TrimSuffix(a.cfg.PublicURL, "/"), tokens[e]),
		})
		if err != nil {
			return Organization{}, errs.Unavailable("EMAIL_FAILED", "an invitation could not be emailed; remove it and invite again")
		}
	}
	return a.readOrganization(ctx, tenant, o.ID)
}

// AcceptInvitation lets the signed-in user whose address the invitation went to
// join; a user already in an organization cannot join another.
func (a *App) AcceptInvitation(ctx context.Context, token string) (Organization, error) {
	p, err := orgUser(ctx)
	if err != nil {
		return Organization{}, err
	}
	if !strings.HasPrefix(token, "inv_") {
		return Organization{}, errs.Invalid("token", "is not an invitation token")
	}
	me, err := a.store.GetUser(ctx, p.GetTenantId(), p.GetUserId())
	if err != nil {
		return Organization{}, err
	}
	id, err := a.store.AcceptInvitation(ctx, p.GetTenantId(), HashToken(token), me.ID, strings.ToLower(me.Email))
	if err != nil {
		return Organization{}, err
	}
	return a.readOrganization(ctx, p.GetTenantId(), id)
}

// SetMemberEnabled enables or disables a joined member; disabled members' seats stop
// counting and stop showing.
func (a *App) SetMemberEnabled(ctx context.Context, orgID, userID string, enabled bool) (Organization, error) {
	o, err := a.administered(ctx, orgID, false)
	if err != nil {
		return o, err
	}
	m, ok := o.member(userID)
	if !ok || m.Status == MemberPending {
		return Organization{}, errs.Invalid("user", "is not a member who has joined")
	}
	if userID == o.AdminUserID && !enabled {
		return Organization{}, errs.Invalid("user", "the administrator cannot be disabled")
	}
	status := MemberDisabled
	if enabled {
		status = MemberActive
	}
	if err := a.store.SetMemberStatus(ctx, authz.MustTenant(ctx), o.ID, userID, status); err != nil {
		return Organization{}, err
	}
	return a.readOrganization(ctx, authz.MustTenant(ctx), o.ID)
}

// RemoveMember removes a member (or a pending invitation, by email) with their seats.
func (a *App) RemoveMember(ctx context.Context, orgID, member string) (Organization, error) {
	o, err := a.administered(ctx, orgID, false)
	if err != nil {
		return o, err
	}
	if member == "" {
		return Organization{}, errs.Invalid("member", "is required")
	}
	if member == o.AdminUserID {
		return Organization{}, errs.Invalid("member", "the administrator cannot be removed")
	}
	if strings.Contains(member, "@") {
		member = strings.ToLower(member) // invitations are stored by lower-case address
	}
	if err := a.store.RemoveMember(ctx, authz.MustTenant(ctx), o.ID, member); err != nil {
		return Organization{}, err
	}
	return a.readOrganization(ctx, authz.MustTenant(ctx), o.ID)
}

// SetCoAdministrator makes an active member the one co-administrator, or clears it
// (empty userID). Only the administrator decides.
func (a *App) SetCoAdministrator(ctx context.Context, orgID, userID string) (Organization, error) {
	o, err := a.administered(ctx, orgID, true)
	if err != nil {
		return o, err
	}
	if userID != "" {
		if m, ok := o.member(userID); !ok || m.Status != MemberActive || userID == o.AdminUserID {
			return Organization{}, errs.Invalid("user", "must be an active member other than the administrator")
		}
	}
	if err := a.store.SetCoAdmin(ctx, authz.MustTenant(ctx), o.ID, userID); err != nil {
		return Organization{}, err
	}
	return a.readOrganization(ctx, authz.MustTenant(ctx), o.ID)
}

// GrantSeats sets a member's seats of a product. The store re-counts the other
// enabled members' seats under a lock on the organization, so concurrent grants never
// hand out more than the key licenses.
func (a *App) GrantSeats(ctx context.Context, orgID string, g SeatGrant) (Organization, error) {
	var v errs.Violations
	v.Require("user", g.UserID)
	v.Require("product", g.ProductID)
	if g.Seats < 0 {
		v.Add("seats", "must not be negative")
	}
	if err := v.Err(); err != nil {
		return Organization{}, err
	}
	o, err := a.administered(ctx, orgID, false)
	if err != nil {
		return o, err
	}
	if m, ok := o.member(g.UserID); !ok || m.Status != MemberActive {
		return Organization{}, errs.Invalid("user", "is not an active member")
	}
	licensed, ok := o.Licensed[g.ProductID]
	if !ok {
		return Organization{}, errs.Invalid("product", "the organization's permission key licenses no %q", g.ProductID)
	}
	if err := a.store.SetGrant(ctx, authz.MustTenant(ctx), o.ID, g, licensed); err != nil {
		return Organization{}, err
	}
	return a.readOrganization(ctx, authz.MustTenant(ctx), o.ID)
}
