// Package app holds the account service's use cases: tenants, accounts, users,
// sign-in, token resolution, and the notifier that emails what events announce.
package app

import "time"

// Account types (SPEC ACC-1).
const (
	AccountProducer       = "producer"
	AccountCustomer       = "customer"
	AccountPartner        = "partner"
	AccountSelfRegistered = "self_registered"
)

// User statuses.
const (
	UserActive   = "active"
	UserInactive = "inactive"
)

// Address is a postal address.
type Address struct {
	Street  string `json:"street,omitempty"`
	City    string `json:"city,omitempty"`
	State   string `json:"state,omitempty"`
	Zip     string `json:"zip,omitempty"`
	Country string `json:"country,omitempty"`
	Region  string `json:"region,omitempty"`
}

// Tenant is a producer operating Tessera.
type Tenant struct {
	ID          string
	DisplayName string
	CreateTime  time.Time
}

// Account is a customer, partner or the producer's own organisation.
type Account struct {
	ID                string
	DisplayName       string
	Description       string
	Type              string
	Address           Address
	VisibleToPartners bool
	Attributes        map[string]string
	RequestID         string
	CreateTime        time.Time
	UpdateTime        time.Time
	// Company and EmergencyContactEmail come with partner-created customers (ACC-15).
	Company               string
	EmergencyContactEmail string
}

// Membership gives a user roles in an account.
type Membership struct {
	AccountID string
	Roles     []string
}

// User is a person (or contact) of an account.
type User struct {
	ID               string
	Username         string
	FirstName        string
	LastName         string
	Email            string
	Type             string
	Status           string
	Memberships      []Membership
	PasswordHash     string
	RequestID        string
	CreateTime       time.Time
	LastLoginTime    *time.Time
	SharedLogin      bool
	FailedLogins     int
	LockedTime       *time.Time
	Phone, Fax       string
	Address          Address
	TimeZone, Locale string
	MarketingOptIn   bool
	ExpiringEmail    bool
	CanLogin         bool
	// ProductLines, when any, limit what line items the user sees (SPEC ACC-16).
	ProductLines []string
	// MustChangePassword is set while the password is a temporary one.
	MustChangePassword bool
	SecretQuestion     string
	SecretAnswerHash   string
}

// Token kinds.
const (
	TokenSession      = "session"
	TokenNormal       = "normal"
	TokenImpersonated = "impersonated"
)

// Token is a stored bearer token (only its hash). UserID is the user it acts as
// ("created for"); CreatedBy made it.
type Token struct {
	ID          string
	TenantID    string
	UserID      string
	Hash        []byte
	Kind        string
	CreatedBy   string
	Name        string
	Description string
	RequestID   string
	ExpiresAt   time.Time
	CreateTime  time.Time
	UpdateTime  time.Time
}

// Administrator is a user who administers an account (SPEC ACC-13).
type Administrator struct {
	UserID, FirstName, LastName, Email, AccountID, AccountName string
}
