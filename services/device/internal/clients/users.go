package clients

import (
	"context"
	"strings"

	accountpb "github.com/tessera-dev/tessera/gen/tessera/account/v1"
	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
	"github.com/tessera-dev/tessera/services/platform/authz"
)

// Users answers questions about the tenant's users from the account service. Calls
// go out as the device service, which holds users.view for the whole tenant.
type Users struct {
	Accounts accountpb.AccountServiceClient
}

// UserWithEmail reports whether a user the request's caller may name has the email
// (compared without regard to case): for tenant-wide callers any user of the
// tenant, else a member of an account the caller acts for. Users of other accounts
// count as unknown, so the answer tells nothing about them (SPEC DEV-12).
func (u Users) UserWithEmail(ctx context.Context, email string) (bool, error) {
	caller, _ := authz.FromContext(ctx)
	quoted := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(email)
	token := ""
	for page := 0; page < 10; page++ {
		resp, err := u.Accounts.ListUsers(ctx, &accountpb.ListUsersRequest{Filter: `email = "` + quoted + `"`, PageSize: 100, PageToken: token})
		if err != nil {
			return false, err
		}
		for _, user := range resp.GetUsers() {
			if strings.EqualFold(user.GetEmail(), email) && mayName(caller, user) {
				return true, nil
			}
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	return false, nil
}

// mayName reports whether the caller may be told of the user: a member of an
// account the caller acts for (every user, for tenant-wide callers).
func mayName(caller *commonpb.Principal, user *accountpb.User) bool {
	if caller.GetTenantWide() {
		return true
	}
	for _, m := range user.GetMemberships() {
		if authz.CanActFor(caller, strings.TrimPrefix(m.GetAccount(), "accounts/")) {
			return true
		}
	}
	return false
}
