package grpcapi

import (
	"context"
	"maps"
	"slices"
	"strings"

	"google.golang.org/protobuf/types/known/timestamppb"

	accountpb "github.com/tessera-dev/tessera/gen/tessera/account/v1"
	"github.com/tessera-dev/tessera/services/account/internal/app"
	"github.com/tessera-dev/tessera/services/platform/filter"
	"github.com/tessera-dev/tessera/services/platform/names"
)

var memberStatuses = map[string]accountpb.MemberStatus{
	app.MemberPending:  accountpb.MemberStatus_MEMBER_STATUS_PENDING,
	app.MemberActive:   accountpb.MemberStatus_MEMBER_STATUS_ACTIVE,
	app.MemberDisabled: accountpb.MemberStatus_MEMBER_STATUS_DISABLED,
}

func userName(id string) string {
	if id == "" {
		return ""
	}
	return "users/" + id
}

func organizationPB(o app.Organization) *accountpb.Organization {
	out := &accountpb.Organization{
		Name: "organizations/" + o.ID, OrganizationId: o.ID, DisplayName: o.DisplayName, PermissionKey: o.Key,
		Account: "accounts/" + o.AccountID, CreateTime: timestamppb.New(o.CreateTime),
	}
	for _, m := range o.Members {
		out.Members = append(out.Members, &accountpb.OrganizationMember{
			Email: m.Email, User: userName(m.UserID), Status: memberStatuses[m.Status],
			Administrator: m.UserID != "" && m.UserID == o.AdminUserID, CoAdministrator: m.UserID != "" && m.UserID == o.CoAdminUserID,
			InviteTime: timestamppb.New(m.InviteTime), JoinTime: tsPtr(m.JoinTime),
		})
	}
	products := map[string]*accountpb.ProductSeats{}
	for id, n := range o.Licensed {
		products[id] = &accountpb.ProductSeats{Product: "products/" + id, Licensed: n, Holders: map[string]int64{}}
	}
	for _, g := range o.Grants {
		ps, ok := products[g.ProductID]
		if !ok { // the key no longer licenses it; still show who holds seats
			ps = &accountpb.ProductSeats{Product: "products/" + g.ProductID, Holders: map[string]int64{}}
			products[g.ProductID] = ps
		}
		ps.Granted += g.Seats
		ps.Holders["users/"+g.UserID] = g.Seats
	}
	for _, id := range slices.Sorted(maps.Keys(products)) {
		out.Products = append(out.Products, products[id])
	}
	return out
}

func orgID(field, name string) (string, error) { return names.ID(field, name, "organizations") }

// orgReply is every organization RPC's answer: the organization after the call.
func orgReply(o app.Organization, err error) (*accountpb.Organization, error) {
	if err != nil {
		return nil, err
	}
	return organizationPB(o), nil
}

// CreateOrganization implements OrganizationService.
func (s *Server) CreateOrganization(ctx context.Context, req *accountpb.CreateOrganizationRequest) (*accountpb.Organization, error) {
	o := req.GetOrganization()
	return orgReply(s.app.CreateOrganization(ctx, o.GetDisplayName(), o.GetPermissionKey(), req.GetRequestId()))
}

// GetOrganization implements OrganizationService.
func (s *Server) GetOrganization(ctx context.Context, req *accountpb.GetOrganizationRequest) (*accountpb.Organization, error) {
	id, err := orgID("name", req.GetName())
	if err != nil {
		return nil, err
	}
	return orgReply(s.app.GetOrganization(ctx, id))
}

// ListOrganizations implements OrganizationService.
func (s *Server) ListOrganizations(ctx context.Context, req *accountpb.ListOrganizationsRequest) (*accountpb.ListOrganizationsResponse, error) {
	list, next, err := s.app.ListOrganizations(ctx, filter.Query{
		Filter: req.GetFilter(), OrderBy: req.GetOrderBy(), PageToken: req.GetPageToken(), PageSize: int(req.GetPageSize()),
	})
	if err != nil {
		return nil, err
	}
	out := &accountpb.ListOrganizationsResponse{NextPageToken: next}
	for _, o := range list {
		out.Organizations = append(out.Organizations, organizationPB(o))
	}
	return out, nil
}

// InviteMembers implements OrganizationService.
func (s *Server) InviteMembers(ctx context.Context, req *accountpb.InviteMembersRequest) (*accountpb.Organization, error) {
	id, err := orgID("organization", req.GetOrganization())
	if err != nil {
		return nil, err
	}
	return orgReply(s.app.InviteMembers(ctx, id, req.GetEmails()))
}

// AcceptInvitation implements OrganizationService.
func (s *Server) AcceptInvitation(ctx context.Context, req *accountpb.AcceptInvitationRequest) (*accountpb.Organization, error) {
	return orgReply(s.app.AcceptInvitation(ctx, req.GetToken()))
}

// SetMemberEnabled implements OrganizationService.
func (s *Server) SetMemberEnabled(ctx context.Context, req *accountpb.SetMemberEnabledRequest) (*accountpb.Organization, error) {
	id, err := orgID("organization", req.GetOrganization())
	if err != nil {
		return nil, err
	}
	user, err := names.ID("user", req.GetUser(), "users")
	if err != nil {
		return nil, err
	}
	return orgReply(s.app.SetMemberEnabled(ctx, id, user, req.GetEnabled()))
}

// RemoveMember implements OrganizationService.
func (s *Server) RemoveMember(ctx context.Context, req *accountpb.RemoveMemberRequest) (*accountpb.Organization, error) {
	id, err := orgID("organization", req.GetOrganization())
	if err != nil {
		return nil, err
	}
	return orgReply(s.app.RemoveMember(ctx, id, strings.TrimPrefix(req.GetMember(), "users/")))
}

// SetCoAdministrator implements OrganizationService.
func (s *Server) SetCoAdministrator(ctx context.Context, req *accountpb.SetCoAdministratorRequest) (*accountpb.Organization, error) {
	id, err := orgID("organization", req.GetOrganization())
	if err != nil {
		return nil, err
	}
	user, err := names.OptionalID("user", req.GetUser(), "users")
	if err != nil {
		return nil, err
	}
	return orgReply(s.app.SetCoAdministrator(ctx, id, user))
}

// GrantSeats implements OrganizationService.
func (s *Server) GrantSeats(ctx context.Context, req *accountpb.GrantSeatsRequest) (*accountpb.Organization, error) {
	id, err := orgID("organization", req.GetOrganization())
	if err != nil {
		return nil, err
	}
	user, err := names.OptionalID("user", req.GetUser(), "users")
	if err != nil {
		return nil, err
	}
	product, err := names.OptionalID("product", req.GetProduct(), "products")
	if err != nil {
		return nil, err
	}
	return orgReply(s.app.GrantSeats(ctx, id, app.SeatGrant{UserID: user, ProductID: product, Seats: req.GetSeats()}))
}
