// Package tclab runs the lab on Docker through testcontainers-go: the
// same scenario as the in-process lab (package harness), with the
// services, the proxy and the client each in a container of the
// project's image, on Docker networks created for the lab, so that a
// blocked path is blocked by the network, names resolve through DNS, and
// a user's own container can take part.
//
// The shape (see the README, "Container backend"):
//
//   - one internal network per lab host (passwordreset.microsoftonline.com,
//     ajax.aspnetcdn.com, ocsp.digicert.com, crl3.digicert.com,
//     crl4.digicert.com), on which the services node answers under the
//     host's real name (a network alias) on the host's ports;
//   - the workstation network, internal too, where clients run;
//   - the services node ("egresslab serve --role services"): every host,
//     each bound to its own network's address, the service's admin API,
//     and the lab's DNS server on the workstation network
//     (internal/labdns: the lab's names, nothing else);
//   - the proxy node ("egresslab serve --role proxy"), when the scenario
//     has a proxy: on the workstation network under the proxy's name and
//     on every host network;
//   - the firewall is which host networks the workstation joins as well:
//     all of them with firewall.direct, the ones named by firewall.allow,
//     none otherwise. Nothing else is reachable: no route leads out of an
//     internal network, and the workstation's DNS queries go to the lab's
//     DNS server (Docker's embedded DNS forwards to it), never outside.
//
// Every network gets a /28 of 198.19.0.0/16 (RFC 2544's benchmarking
// range, never routed), so that labs do not use up Docker's address
// pools. The nodes also join Docker's default bridge network, only to
// publish their admin API (and the proxy) on 127.0.0.1 of the host.
// The lab's roots are made by the calling process (pki) and handed to the
// containers as files. Nothing is pulled: the image is built locally
// (BuildImage).
package tclab

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	mobynet "github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"
	"go.yaml.in/yaml/v3"

	sspr "github.com/egresslab/egresslab/client"
	"github.com/egresslab/egresslab/harness"
	"github.com/egresslab/egresslab/labserver"
	"github.com/egresslab/egresslab/mock"
	"github.com/egresslab/egresslab/pki"
	"github.com/egresslab/egresslab/proxy"
	"github.com/egresslab/egresslab/scenarios"
)

// Labels put on every container and network of a lab: LabLabel holds the
// lab's id, RoleLabel the part ("services", "proxy", "workstation", or a
// network's host name).
const (
	LabLabel  = "org.egresslab.lab"
	RoleLabel = "org.egresslab.role"
)

// Workstation is the name of the workstation network in Lab.Networks.
const Workstation = "workstation"

// DefaultAdminPort is the nodes' admin API port inside their containers,
// unless the scenario serves something on it (its proxy, a host of its
// own): then the next free one (Lab.AdminPort).
const DefaultAdminPort = 8128

// NodeDir is where the lab's files are in every container: the roots in
// NodeDir/ca (pki's file names), the admin token in NodeDir/token, the
// scenario in NodeDir/scenario.yaml.
const NodeDir = "/lab"

// LabNet is the range the lab's networks are carved from, a /28 each.
const LabNet = "198.19.0.0/16"

// options are Run's settings.
type options struct {
	scenario *scenarios.Scenario
	caDir    string
	generic  []testcontainers.ContainerCustomizer
	ready    time.Duration
	pool     *NetworkPool
}

// Option configures a container lab. It is a testcontainers-go
// ContainerCustomizer, so that Run takes both; Run's own options change
// the lab, not a container request.
type Option func(*options) error

// Customize is a no-op: an Option configures the lab in Run.
func (Option) Customize(*testcontainers.GenericContainerRequest) error { return nil }

// WithScenario sets the lab's scenario (its lab and directory sections,
// and the client section RunClient runs). Default: labserver's
// DefaultScenario.
func WithScenario(sc *scenarios.Scenario) Option {
	return func(o *options) error {
		if sc == nil {
			return errors.New("WithScenario: nil scenario")
		}
		o.scenario = sc
		return nil
	}
}

// WithCADir keeps the lab's roots in dir (pki.Open: made on first use,
// loaded after), so that a browser or a VM trusts every lab once.
// Default: new roots in the lab's temporary directory.
func WithCADir(dir string) Option {
	return func(o *options) error {
		o.caDir = dir
		return nil
	}
}

// WithStartupTimeout bounds how long each node may take to say it is
// ready (default 60 s).
func WithStartupTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return errors.New("WithStartupTimeout: must be positive")
		}
		o.ready = d
		return nil
	}
}

// Lab is a running container lab. Its fields are for reading.
type Lab struct {
	// ID names the lab: the value of LabLabel on its containers and
	// networks.
	ID       string
	Scenario *scenarios.Scenario
	Image    string
	// Networks are the lab's networks: Workstation and one per lab host,
	// by host name.
	Networks map[string]*testcontainers.DockerNetwork
	// Services and Proxy are the nodes; Proxy is nil when the scenario
	// has no proxy.
	Services *testcontainers.DockerContainer
	Proxy    *testcontainers.DockerContainer
	// ServicesAdmin and ProxyAdmin are the nodes' admin APIs, published
	// on the host's loopback (ProxyAdmin nil without a proxy).
	ServicesAdmin *labserver.Client
	ProxyAdmin    *labserver.Client
	// ProxyURL is the proxy as the host reaches it,
	// "http://127.0.0.1:PORT" ("" without a proxy); ProxyName is its name
	// on the workstation network ("proxy.corp.example:3128").
	ProxyURL  string
	ProxyName string
	// DNS is the lab's DNS server on the workstation network.
	DNS netip.Addr
	// AdminPort is the nodes' admin API port inside their containers
	// (DefaultAdminPort unless the scenario uses it).
	AdminPort string

	opts    options
	tmp     string // the lab's temporary folder on the host
	dir     string // its NodeDir
	ownCA   bool
	token   string
	subnets map[string]netip.Prefix

	mu         sync.Mutex
	containers []*testcontainers.DockerContainer // every container, nodes first
	terminated bool
}

// Run starts a lab on Docker from image (the project's image: BuildImage)
// and returns it ready: every node serves. On error it returns the lab as
// far as it was built, which the caller must Terminate all the same
// (CleanupLab does it for a test, registered before the error check).
// opts are this package's Options and any testcontainers-go
// ContainerCustomizers, which apply to the nodes' container requests
// after the lab's own (log consumers, environment, labels).
func Run(ctx context.Context, image string, opts ...testcontainers.ContainerCustomizer) (*Lab, error) {
	l := &Lab{Image: image, Networks: map[string]*testcontainers.DockerNetwork{}, subnets: map[string]netip.Prefix{},
		opts: options{ready: 60 * time.Second}}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	l.ID = hex.EncodeToString(b)
	for _, o := range opts {
		if opt, ok := o.(Option); ok {
			if err := opt(&l.opts); err != nil {
				return l, fmt.Errorf("run lab: %w", err)
			}
			continue
		}
		l.opts.generic = append(l.opts.generic, o)
	}
	if image == "" {
		return l, errors.New("run lab: no image (see BuildImage)")
	}
	sc := l.opts.scenario
	if sc == nil {
		var err error
		if sc, err = labserver.Builtin(labserver.DefaultScenario); err != nil {
			return l, fmt.Errorf("run lab: %w", err)
		}
	}
	if err := sc.Validate(); err != nil {
		return l, fmt.Errorf("run lab: invalid scenario: %w", err)
	}
	l.Scenario = sc
	l.AdminPort = adminPort(sc)
	// Nothing is pulled: an image that is not here is an error, before
	// Docker would go and look for it in a registry.
	if err := ImageExists(ctx, image); err != nil {
		return l, fmt.Errorf("run lab: %w", err)
	}
	if err := l.writeFiles(); err != nil {
		return l, fmt.Errorf("run lab: %w", err)
	}
	if err := l.networks(ctx); err != nil {
		return l, fmt.Errorf("run lab: %w", err)
	}
	if err := l.startServices(ctx); err != nil {
		return l, fmt.Errorf("run lab: services node: %w", err)
	}
	if sc.Lab.Proxy != nil {
		if err := l.startProxy(ctx); err != nil {
			return l, fmt.Errorf("run lab: proxy node: %w", err)
		}
	}
	return l, nil
}

// allHosts are the lab's host names and the scenario's own, each with a
// network of its own.
func (l *Lab) allHosts() []string {
	out := hosts()
	for _, hp := range l.Scenario.OwnHostPorts() {
		if h, _, _ := net.SplitHostPort(hp); !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

// adminPort is the first port from DefaultAdminPort that the scenario
// serves nothing on.
func adminPort(sc *scenarios.Scenario) string {
	used := map[string]bool{"80": true, "443": true}
	for _, hp := range sc.OwnHostPorts() {
		_, p, _ := net.SplitHostPort(hp)
		used[p] = true
	}
	if px := sc.Lab.Proxy; px != nil && px.Address != "" {
		_, p, _ := net.SplitHostPort(px.Address)
		used[p] = true
	}
	port := DefaultAdminPort
	for used[strconv.Itoa(port)] {
		port++
	}
	return strconv.Itoa(port)
}

// ImageExists says, as an error, that image is not on this Docker engine
// (nothing is pulled: see BuildImage).
func ImageExists(ctx context.Context, image string) error {
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return fmt.Errorf("docker: %w", err)
	}
	defer cli.Close()
	if _, err := cli.ImageInspect(ctx, image); err != nil {
		return fmt.Errorf("image %s is not on this Docker engine (nothing is pulled: build it with tclab.BuildImage or make image): %w", image, err)
	}
	return nil
}

// hosts are the lab's own host names, each with a network of its own.
func hosts() []string {
	var out []string
	for _, h := range append(slices.Clone(harness.TLSHosts), harness.PlainHosts...) {
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

// writeFiles makes the lab's directory on the host: the roots, the admin
// token and the scenario, which every container gets a copy of.
func (l *Lab) writeFiles() error {
	tmp, err := os.MkdirTemp("", "egresslab-tclab-")
	if err != nil {
		return err
	}
	l.tmp = tmp
	// The files go to the containers as one archive of this folder,
	// named as NodeDir.
	dir := filepath.Join(tmp, filepath.Base(NodeDir))
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	l.dir = dir
	caDir := l.opts.caDir
	if caDir == "" {
		caDir, l.ownCA = filepath.Join(dir, "ca"), true
	}
	a, err := pki.Open(caDir)
	if err != nil {
		return err
	}
	if !l.ownCA {
		// The nodes get a copy of the kept roots.
		if err := os.CopyFS(filepath.Join(dir, "ca"), os.DirFS(caDir)); err != nil {
			return fmt.Errorf("copy %s: %w", caDir, err)
		}
	}
	ic, err := a.Interception()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "interception.pem"), ic.CA().CertPEM(), 0o644); err != nil {
		return err
	}
	t := make([]byte, 16)
	_, _ = rand.Read(t)
	l.token = hex.EncodeToString(t)
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte(l.token+"\n"), 0o600); err != nil {
		return err
	}
	y, err := yaml.Marshal(l.Scenario)
	if err != nil {
		return fmt.Errorf("scenario %s as YAML: %w", l.Scenario.Name, err)
	}
	return os.WriteFile(filepath.Join(dir, "scenario.yaml"), y, 0o644)
}

// files are the lab's files as container files: the folder NodeDir, in
// one copy (the keys and the token are the lab's own, readable by the
// containers' root only).
func (l *Lab) files() []testcontainers.ContainerFile {
	return []testcontainers.ContainerFile{{HostFilePath: l.dir, ContainerFilePath: NodeDir, FileMode: 0o600}}
}

// TrustPEM is the path, on the host, of the lab's root as PEM (for curl
// --cacert, a browser's trust store).
func (l *Lab) TrustPEM() string { return filepath.Join(l.dir, "ca", pki.RootCertFile) }

// InterceptionPEM is the path, on the host, of the interception root as
// PEM.
func (l *Lab) InterceptionPEM() string { return filepath.Join(l.dir, "interception.pem") }

// labels are the labels of the lab's part named role.
func (l *Lab) labels(role string) map[string]string {
	m := testcontainers.GenericLabels()
	m[LabLabel], m[RoleLabel] = l.ID, role
	return m
}

// networks takes a set of networks from the lab's pool, or makes one,
// then makes one for each host of the scenario's own (never pooled).
func (l *Lab) networks(ctx context.Context) error {
	own := l.allHosts()[len(hosts()):]
	if p := l.opts.pool; p != nil {
		if set, ok := p.get(); ok {
			maps.Copy(l.Networks, set.nets)
			maps.Copy(l.subnets, set.subnets)
			return l.createNetworks(ctx, own, false)
		}
	}
	return l.createNetworks(ctx, append([]string{Workstation}, l.allHosts()...), l.opts.pool != nil)
}

// createNetworks makes networks by name, in parallel, each on a free /28
// of LabNet; pooled ones carry the pool's id.
func (l *Lab) createNetworks(ctx context.Context, names []string, pooled bool) error {
	labels := l.labels
	if p := l.opts.pool; p != nil && pooled {
		labels = func(role string) map[string]string {
			m := l.labels(role)
			m[LabLabel] = p.id // the pool's: the networks outlive the lab
			return m
		}
	}
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lb := labels
			if !slices.Contains(hosts(), name) && name != Workstation {
				lb = l.labels // a host of the scenario's own: the lab's
			}
			// Not cancelled half way: a network the engine makes after
			// the caller gave up would be known to nobody. Bounded on its
			// own.
			nctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			n, p, err := createNetwork(nctx, lb(name))
			if err != nil {
				errs[i] = fmt.Errorf("network %s: %w", name, err)
				return
			}
			mu.Lock()
			l.Networks[name], l.subnets[name] = n, p
			mu.Unlock()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// createNetwork makes an internal network on a /28 of LabNet picked at
// random, another one when Docker says it overlaps one in use.
func createNetwork(ctx context.Context, labels map[string]string) (*testcontainers.DockerNetwork, netip.Prefix, error) {
	base := netip.MustParsePrefix(LabNet)
	var last error
	for range 20 {
		n, _ := rand.Int(rand.Reader, big.NewInt(1<<(28-base.Bits())))
		a := base.Addr().As4()
		off := uint32(n.Int64()) << 4
		a[2], a[3] = byte(off>>8), byte(off)
		p := netip.PrefixFrom(netip.AddrFrom4(a), 28)
		nw, err := network.New(ctx, network.WithInternal(), network.WithLabels(labels),
			network.WithIPAM(&mobynet.IPAM{Driver: "default", Config: []mobynet.IPAMConfig{{Subnet: p}}}))
		if err == nil {
			return nw, p, nil
		}
		last = err
		if !strings.Contains(err.Error(), "overlap") {
			break
		}
	}
	return nil, netip.Prefix{}, last
}

// node starts a node container: the image's serve in a role, on the
// given networks (the default bridge first, to publish ports), waiting
// for its ready line.
func (l *Lab) node(ctx context.Context, role string, nets []string, aliases map[string][]string, ports []string, dns []netip.Addr, args ...string) (*testcontainers.DockerContainer, error) {
	req := testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image:          l.Image,
			Cmd:            append([]string{"serve", "--role", role, "--admin-listen", "0.0.0.0:" + l.AdminPort, "--allow-remote", "--token-file", NodeDir + "/token", "--ca-dir", NodeDir + "/ca"}, append(args, NodeDir+"/scenario.yaml")...),
			Labels:         l.labels(role),
			Networks:       append([]string{"bridge"}, nets...),
			NetworkAliases: aliases,
			Files:          l.files(),
			ExposedPorts:   ports,
			HostConfigModifier: func(hc *container.HostConfig) {
				hc.DNS = dns
				// Published on the host's loopback only: the lab is the
				// host's, not the network's.
				for _, p := range ports {
					port := mobynet.MustParsePort(p)
					if hc.PortBindings == nil {
						hc.PortBindings = mobynet.PortMap{}
					}
					hc.PortBindings[port] = []mobynet.PortBinding{{HostIP: netip.MustParseAddr("127.0.0.1")}}
				}
			},
			WaitingFor: wait.ForLog(labserver.NodeReady).WithStartupTimeout(l.opts.ready),
		},
		Started: true,
	}
	for _, o := range l.opts.generic {
		if err := o.Customize(&req); err != nil {
			return nil, err
		}
	}
	c, err := testcontainers.GenericContainer(ctx, req)
	if dc, ok := c.(*testcontainers.DockerContainer); ok && dc != nil {
		l.track(dc)
		if err != nil {
			return dc, withLogs(ctx, dc, err)
		}
		return dc, nil
	}
	if err == nil {
		err = errors.New("not a Docker container")
	}
	return nil, err
}

// withLogs adds the end of a failed container's output to err.
func withLogs(ctx context.Context, c *testcontainers.DockerContainer, err error) error {
	rc, lerr := c.Logs(ctx)
	if lerr != nil {
		return err
	}
	defer rc.Close()
	b, _ := io.ReadAll(io.LimitReader(rc, 64<<10))
	s := strings.TrimSpace(string(b))
	if len(s) > 2000 {
		s = "..." + s[len(s)-2000:]
	}
	if s == "" {
		return err
	}
	return fmt.Errorf("%w; its output:\n%s", err, s)
}

func (l *Lab) isTerminated() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.terminated
}

func (l *Lab) track(c *testcontainers.DockerContainer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.containers = append(l.containers, c)
}

func (l *Lab) networkNames(parts ...string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, l.Networks[p].Name)
	}
	return out
}

func (l *Lab) startServices(ctx context.Context) error {
	var args []string
	aliases := map[string][]string{}
	for _, h := range l.allHosts() {
		args = append(args, "--host-network", h+"="+l.subnets[h].String())
		aliases[l.Networks[h].Name] = []string{h}
	}
	args = append(args, "--dns-network", l.subnets[Workstation].String())
	c, err := l.node(ctx, string(labserver.RoleServices), l.networkNames(append([]string{Workstation}, l.allHosts()...)...), aliases,
		[]string{l.AdminPort + "/tcp"}, nil, args...)
	if err != nil {
		return err
	}
	l.Services = c
	if l.DNS, err = l.addrOn(ctx, c, Workstation); err != nil {
		return err
	}
	if l.ServicesAdmin, err = l.admin(ctx, c); err != nil {
		return err
	}
	return nil
}

func (l *Lab) startProxy(ctx context.Context) error {
	px := l.Scenario.Lab.Proxy
	l.ProxyName = harness.DefaultProxyAddr
	if px.Address != "" {
		l.ProxyName = strings.ToLower(px.Address)
	}
	host, port, err := net.SplitHostPort(l.ProxyName)
	if err != nil {
		return err
	}
	c, err := l.node(ctx, string(labserver.RoleProxy), l.networkNames(append([]string{Workstation}, l.allHosts()...)...),
		map[string][]string{l.Networks[Workstation].Name: {host}}, []string{l.AdminPort + "/tcp", port + "/tcp"}, []netip.Addr{l.DNS},
		"--proxy-listen", "0.0.0.0:"+port)
	if err != nil {
		return err
	}
	l.Proxy = c
	mp, err := c.MappedPort(ctx, port+"/tcp")
	if err != nil {
		return err
	}
	l.ProxyURL = "http://127.0.0.1:" + mp.Port()
	if l.ProxyAdmin, err = l.admin(ctx, c); err != nil {
		return err
	}
	return nil
}

// addrOn is a container's address on one of the lab's networks.
func (l *Lab) addrOn(ctx context.Context, c *testcontainers.DockerContainer, part string) (netip.Addr, error) {
	in, err := c.Inspect(ctx)
	if err != nil {
		return netip.Addr{}, err
	}
	es, ok := in.NetworkSettings.Networks[l.Networks[part].Name]
	if !ok || !es.IPAddress.IsValid() {
		return netip.Addr{}, fmt.Errorf("no address on the %s network", part)
	}
	return es.IPAddress, nil
}

// admin is a node's admin API through its published port.
func (l *Lab) admin(ctx context.Context, c *testcontainers.DockerContainer) (*labserver.Client, error) {
	mp, err := c.MappedPort(ctx, l.AdminPort+"/tcp")
	if err != nil {
		return nil, err
	}
	return &labserver.Client{BaseURL: "http://127.0.0.1:" + mp.Port(), Token: l.token}, nil
}

// WorkstationNetworks are the networks a container on the workstation
// joins: the workstation network, and the host networks the scenario's
// firewall lets it reach directly (all of them with direct; those named
// in allow; all of them in a lab without a proxy and without a firewall,
// as harness does).
func (l *Lab) WorkstationNetworks() []string {
	fw := harness.Firewall{Direct: l.Scenario.Lab.Proxy == nil}
	if l.Scenario.Lab.Firewall != nil {
		fw = *l.Scenario.Lab.Firewall
	}
	parts := []string{Workstation}
	for _, h := range l.allHosts() {
		reach := fw.Direct
		for _, a := range fw.Allow {
			if ah, _, _ := net.SplitHostPort(strings.ToLower(a)); ah == h {
				reach = true
			}
		}
		if reach {
			parts = append(parts, h)
		}
	}
	return l.networkNames(parts...)
}

// Exit is the end of a container run on the workstation.
type Exit struct {
	ExitCode       int
	Stdout, Stderr []byte
}

// RunWorkstation runs a container of image with cmd on the workstation
// (the networks of WorkstationNetworks, the lab's DNS, the lab's files
// under NodeDir: the root at NodeDir/ca/root.pem), waits for it to exit
// (ctx bounds it), removes it and returns its exit code and output. opts
// apply to its request after the lab's own. It is how a user's own
// client, or curl, takes part.
func (l *Lab) RunWorkstation(ctx context.Context, image string, cmd []string, opts ...testcontainers.ContainerCustomizer) (*Exit, error) {
	req := testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image:              image,
			Cmd:                cmd,
			Labels:             l.labels(Workstation),
			Networks:           l.WorkstationNetworks(),
			Files:              l.files(),
			HostConfigModifier: func(hc *container.HostConfig) { hc.DNS = []netip.Addr{l.DNS} },
			WaitingFor:         wait.ForExit().WithExitTimeout(sspr.DefaultRequestTimeout * 4),
		},
		Started: true,
	}
	for _, o := range opts {
		if err := o.Customize(&req); err != nil {
			return nil, err
		}
	}
	c, err := testcontainers.GenericContainer(ctx, req)
	dc, _ := c.(*testcontainers.DockerContainer)
	if dc != nil {
		l.track(dc)
		defer func() { _ = dc.Terminate(context.WithoutCancel(ctx)) }()
	}
	if err != nil {
		return nil, fmt.Errorf("workstation container: %w", err)
	}
	st, err := dc.State(ctx)
	if err != nil {
		return nil, err
	}
	r := &Exit{ExitCode: st.ExitCode}
	dcli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return nil, err
	}
	defer dcli.Close()
	logs, err := dcli.ContainerLogs(ctx, dc.GetContainerID(), client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return nil, err
	}
	defer logs.Close()
	var stdout, stderr bytes.Buffer
	if _, err := stdcopy.StdCopy(&stdout, &stderr, io.LimitReader(logs, 16<<20)); err != nil {
		return nil, fmt.Errorf("workstation container's output: %w", err)
	}
	r.Stdout, r.Stderr = stdout.Bytes(), stderr.Bytes()
	return r, nil
}

// RunClient runs the scenario's client ("egresslab client" in the lab's
// image) on the workstation, with the lab's root (and the interception
// root when the scenario's client trusts it), codes from the services
// node's admin API on the workstation network, and returns its result.
func (l *Lab) RunClient(ctx context.Context) (*sspr.Result, error) {
	cmd := []string{"client", "--scenario", NodeDir + "/scenario.yaml", "--roots", NodeDir + "/ca/" + pki.RootCertFile,
		"--admin", "http://" + net.JoinHostPort(l.DNS.String(), l.AdminPort), "--token-file", NodeDir + "/token"}
	if l.Scenario.Client.TrustInterception {
		cmd = append(cmd, "--roots", NodeDir+"/interception.pem")
	}
	r, err := l.RunWorkstation(ctx, l.Image, cmd)
	if l.isTerminated() {
		return nil, errors.New("egresslab client: the lab was terminated while it ran")
	}
	if err != nil {
		return nil, err
	}
	if r.ExitCode != 0 && r.ExitCode != 1 {
		return nil, fmt.Errorf("egresslab client exited %d: %s", r.ExitCode, strings.TrimSpace(string(r.Stderr)))
	}
	var res sspr.Result
	if err := json.Unmarshal(r.Stdout, &res); err != nil {
		return nil, fmt.Errorf("egresslab client's result: %w; its output: %s %s", err, r.Stdout, r.Stderr)
	}
	return &res, nil
}

// Journal is the proxy node's journal, in the order the decisions began
// (nil without a proxy). Tunnels that are still open are recorded so; see
// SettledJournal.
func (l *Lab) Journal(ctx context.Context) ([]proxy.Entry, error) {
	if l.ProxyAdmin == nil {
		return nil, nil
	}
	j, err := l.ProxyAdmin.Journal(ctx, 0, "")
	if err != nil {
		return nil, err
	}
	out := make([]proxy.Entry, len(j.Entries))
	for i, r := range j.Entries {
		out[i] = r.Entry
	}
	slices.SortStableFunc(out, func(a, b proxy.Entry) int { return a.Time.Compare(b.Time) })
	return out, nil
}

// SettledJournal is Journal once no tunnel is open any more (a client
// that has gone lets its tunnels end), or when wait runs out: what the
// in-process lab's runner reads after its proxy's graceful shutdown.
func (l *Lab) SettledJournal(ctx context.Context, wait time.Duration) ([]proxy.Entry, error) {
	deadline := time.Now().Add(wait)
	for {
		es, err := l.Journal(ctx)
		if err != nil || time.Now().After(deadline) || !slices.ContainsFunc(es, func(e proxy.Entry) bool { return e.Result == proxy.ResultOpen }) {
			return es, err
		}
		select {
		case <-ctx.Done():
			return es, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Audit is the service's audit log for a user ("" for everyone).
func (l *Lab) Audit(ctx context.Context, upn string) ([]mock.AuditEntry, error) {
	return l.ServicesAdmin.Audit(ctx, upn)
}

// Outbox is what the service sent a user ("" for everyone).
func (l *Lab) Outbox(ctx context.Context, upn string) ([]mock.Message, error) {
	return l.ServicesAdmin.Outbox(ctx, upn)
}

// Terminate removes the lab's containers, networks and files. It may be
// called more than once, and on a lab that Run did not finish; it
// returns the errors of what it could not remove.
func (l *Lab) Terminate(ctx context.Context) error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	if l.terminated {
		l.mu.Unlock()
		return nil
	}
	l.terminated = true
	cs := slices.Clone(l.containers)
	l.mu.Unlock()
	var errs []error
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, c := range slices.Backward(cs) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Killed, not stopped: what a lab is asked for has been read
			// by now, and a stop would wait for the nodes' shutdown.
			if err := c.Terminate(ctx, testcontainers.StopTimeout(0)); err != nil && !isGone(err) {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// The standard set goes back to the pool whole, once nothing is
	// attached to it; else it goes, as the own hosts' networks do.
	set, own := networkSet{nets: map[string]*testcontainers.DockerNetwork{}, subnets: map[string]netip.Prefix{}}, networkSet{nets: map[string]*testcontainers.DockerNetwork{}}
	for name, n := range l.Networks {
		if name == Workstation || slices.Contains(hosts(), name) {
			set.nets[name], set.subnets[name] = n, l.subnets[name]
		} else {
			own.nets[name] = n
		}
	}
	if err := own.remove(ctx); err != nil {
		errs = append(errs, err)
	}
	if p := l.opts.pool; p == nil || len(errs) > 0 || len(set.nets) != len(hosts())+1 || !p.put(set) {
		errs = append(errs, set.remove(ctx))
	}
	// Anything of the lab's that was made but not recorded (a set-up cut
	// short): found by its label.
	if err := sweep(ctx, l.ID); err != nil {
		errs = append(errs, err)
	}
	if l.tmp != "" {
		if err := os.RemoveAll(l.tmp); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// networkSet is a lab's networks: the workstation's and one per host.
type networkSet struct {
	nets    map[string]*testcontainers.DockerNetwork
	subnets map[string]netip.Prefix
}

// remove removes the networks, in parallel.
func (s networkSet) remove(ctx context.Context) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for name, n := range s.nets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := n.Remove(ctx); err != nil && !isGone(err) {
				mu.Lock()
				errs = append(errs, fmt.Errorf("network %s: %w", name, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// NetworkPool keeps the networks of labs that have ended, for the next
// labs (WithNetworkPool): a lab's networks hold nothing of the lab once
// its containers are gone (aliases and addresses are the containers'),
// and making and removing them is about half of Docker's work for a lab.
// The runner's Backend uses one. Close removes them.
type NetworkPool struct {
	id     string
	mu     sync.Mutex
	free   []networkSet
	closed bool
}

// NewNetworkPool makes an empty pool; its networks carry LabLabel
// "pool-ID".
func NewNetworkPool() *NetworkPool {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return &NetworkPool{id: "pool-" + hex.EncodeToString(b)}
}

func (p *NetworkPool) get() (networkSet, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || len(p.free) == 0 {
		return networkSet{}, false
	}
	s := p.free[len(p.free)-1]
	p.free = p.free[:len(p.free)-1]
	return s, true
}

// put keeps s, unless the pool is closed.
func (p *NetworkPool) put(s networkSet) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.free = append(p.free, s)
	return true
}

// Close removes the pool's networks; labs still running remove theirs
// when they end. It may be called more than once.
func (p *NetworkPool) Close(ctx context.Context) error {
	p.mu.Lock()
	free := p.free
	p.free, p.closed = nil, true
	p.mu.Unlock()
	var errs []error
	for _, s := range free {
		errs = append(errs, s.remove(ctx))
	}
	errs = append(errs, sweep(ctx, p.id))
	return errors.Join(errs...)
}

// sweep removes the containers and networks whose LabLabel is id.
func sweep(ctx context.Context, id string) error {
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	f := client.Filters{}.Add("label", LabLabel+"="+id)
	var errs []error
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return err
	}
	for _, c := range cs.Items {
		if _, err := cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !isGone(err) {
			errs = append(errs, err)
		}
	}
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return err
	}
	for _, n := range ns.Items {
		if _, err := cli.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil && !isGone(err) {
			errs = append(errs, fmt.Errorf("network %s: %w", n.Name, err))
		}
	}
	return errors.Join(errs...)
}

// WithNetworkPool takes the lab's networks from p when it has some, and
// gives them back to p when the lab ends.
func WithNetworkPool(p *NetworkPool) Option {
	return func(o *options) error {
		o.pool = p
		return nil
	}
}

// isGone reports whether a removal failed because the thing is gone
// already (a container that auto-removed, a double removal).
func isGone(err error) bool {
	s := err.Error()
	return strings.Contains(s, "No such") || strings.Contains(s, "not found") || strings.Contains(s, "is already in progress")
}

// CleanupLab registers the lab's Terminate with t.Cleanup, failing the
// test when something could not be removed. Call it before checking
// Run's error, as testcontainers.CleanupContainer is, so that a lab that
// failed half way is removed too. A nil lab is fine.
func CleanupLab(t testing, l *Lab) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := l.Terminate(ctx); err != nil {
			t.Errorf("terminate lab %s: %v", l.ID, err)
		}
	})
}

// testing is what CleanupLab needs of a testing.TB (the package does not
// import testing).
type testing interface {
	Helper()
	Cleanup(func())
	Errorf(format string, args ...any)
}
