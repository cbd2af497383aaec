package grpcapi

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	accountpb "github.com/tessera-dev/tessera/gen/tessera/account/v1"
	"github.com/tessera-dev/tessera/services/account/internal/app"
	"github.com/tessera-dev/tessera/services/platform/names"
)

// CreatePartnerCustomer implements AccountService.
func (s *Server) CreatePartnerCustomer(ctx context.Context, req *accountpb.CreatePartnerCustomerRequest) (*accountpb.CreatePartnerCustomerResponse, error) {
	parent, err := names.ID("parent", req.GetParent(), "accounts")
	if err != nil {
		return nil, err
	}
	in := app.NewPartnerCustomer{
		Parent: parent, AccountID: req.GetAccountId(), AccountName: req.GetAccountName(), Company: req.GetCompany(),
		City: req.GetCity(), State: req.GetState(), EmergencyContactEmail: req.GetEmergencyContactEmail(), RequestID: req.GetRequestId(),
		Admin: app.Newcomer{Username: req.GetAdminUsername(), FirstName: req.GetAdminFirstName(), LastName: req.GetAdminLastName(), Email: req.GetAdminEmail()},
	}
	if t := req.GetSendEmailTime(); t != nil {
		in.SendEmailTime = t.AsTime()
	}
	for i, pu := range req.GetServicePlans() {
		plan, err := names.OptionalID(fmt.Sprintf("service_plans[%d].service_plan", i), pu.GetServicePlan(), "servicePlans")
		if err != nil {
			return nil, err
		}
		in.Plans = append(in.Plans, app.PlanUnits{ServicePlanID: plan, Units: pu.GetUnits(), StartTime: timePtr(pu.GetStartTime())})
	}
	out, err := s.app.CreatePartnerCustomer(ctx, in)
	if err != nil {
		return nil, err
	}
	resp := &accountpb.CreatePartnerCustomerResponse{
		Account: accountPB(out.Account), Administrator: userPB(out.Admin), EmailTime: timestamppb.New(out.EmailTime),
	}
	for _, id := range out.EntitlementIDs {
		resp.Entitlements = append(resp.Entitlements, "entitlements/"+id)
	}
	return resp, nil
}

func timePtr(t *timestamppb.Timestamp) *time.Time {
	if t == nil {
		return nil
	}
	v := t.AsTime()
	return &v
}
