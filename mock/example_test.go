package mock_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/egresslab/egresslab/mock"
)

// Run the service with a small directory and see why a user cannot reset.
func ExampleService() {
	dir, err := mock.ParseDirectory("lab.yaml", []byte(`
tenants:
  - id: contoso
    domains: [contoso.com]
    sspr: selected
    enabledGroup: SSPR pilot
    gates: 1
users:
  - upn: adele@contoso.com
    inEnabledGroup: false
    methods: {email: adele@mail.example}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	svc, _ := mock.New(mock.WithDirectory(dir))
	srv := httptest.NewServer(svc)
	defer srv.Close()

	call := func(path string, body any, out any) {
		b, _ := json.Marshal(body)
		resp, err := http.Post(srv.URL+mock.APIPrefix+path, "application/json", bytes.NewReader(b))
		if err != nil {
			fmt.Println(err)
			return
		}
		defer resp.Body.Close()
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	var c mock.Captcha
	call("/captcha", struct{}{}, &c)
	var v mock.FlowView
	call("/begin", map[string]string{"userId": "adele@contoso.com", "captchaId": c.ID, "captchaAnswer": c.Challenge}, &v)
	fmt.Println(v.Outcome, v.Code)
	fmt.Println(v.Message)
	fmt.Println(svc.Audit().Entries("adele@contoso.com")[1].ResultReason)
	// Output:
	// not-enabled SSPR_0013
	// Your account is not enabled for password reset.
	// User is not a member of the group enabled for self-service password reset
}
