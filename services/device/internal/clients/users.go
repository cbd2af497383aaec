package clients

import (
	"context"
	"strings"

	accountpb "github.com/tessera-dev/tessera/gen/tessera/account/v1"
)

// Users answers questions about the tenant's users from the account service. Calls
// go out as the device service, which holds users.view for the whole tenant.
type Users struct {
	Accounts accountpb.AccountServiceClient
}

// UserWithEmail reports whether a user of the request's tenant has the email
// (compared without regard to case).
func (u Users) UserWithEmail(ctx context.Context, email string) (bool, error) {
	quoted := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(email)
	resp, err := u.Accounts.ListUsers(ctx, &accountpb.ListUsersRequest{Filter: `email = "` + quoted + `"`, PageSize: 10})
	if err != nil {
		return false, err
	}
	for _, user := range resp.GetUsers() {
		if strings.EqualFold(user.GetEmail(), email) {
			return true, nil
		}
	}
	return false, nil
}
