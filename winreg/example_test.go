package winreg_test

import (
	"fmt"

	"github.com/egresslab/egresslab/winreg"
)

func Example() {
	// What `reg export` writes, here as UTF-8 (reg export writes UTF-16LE
	// with a byte-order mark; both are read).
	file := []byte(`Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\AzureADAccount]
"AllowPasswordReset"=dword:00000001

[HKEY_USERS\DefaultProfile\Software\Microsoft\Windows\CurrentVersion\Internet Settings]
"ProxyEnable"=dword:00000001
"ProxyServer"="proxy.corp.example:8080"
`)
	e, err := winreg.Parse("sspr.reg", file)
	if err != nil {
		fmt.Println(err)
		return
	}
	var r winreg.Registry
	r.Add(e)

	if v, ok := r.Value(`HKLM\Software\Policies\Microsoft\AzureADAccount`, "allowpasswordreset"); ok {
		n, _ := v.Uint32()
		fmt.Printf("AllowPasswordReset = %d (%s, %s:%d)\n", n, v.Type, v.File, v.Line)
	}
	fmt.Println("HKU subkeys:", r.Users())
	if v, ok := r.Value(`HKEY_USERS\DefaultProfile\Software\Microsoft\Windows\CurrentVersion\Internet Settings`, "ProxyServer"); ok {
		s, _ := v.Text()
		fmt.Println("Default profile proxy:", s)
	}

	_, err = winreg.Parse("bad.reg", []byte("Windows Registry Editor Version 5.00\n[HKEY_LOCAL_MACHINE\\X]\n\"A\"=dword:1\n"))
	fmt.Println(err)
	// Output:
	// AllowPasswordReset = 1 (REG_DWORD, sspr.reg:4)
	// HKU subkeys: [DefaultProfile]
	// Default profile proxy: proxy.corp.example:8080
	// bad.reg:3: bad dword "1": want exactly 8 hex digits, as dword:0000001f
}
