// Package demo fills an empty appliance with a demo building: floors, five
// tenant companies, their employees, property staff and one account per
// role (Seed), its gate lanes on simulated devices (Lanes) and, for serve
// --demo on a new directory, its last four weeks (SeedWithHistory). Demo
// passwords are fixed and printed at start-up; they exist only in a data
// directory created with --demo.
package demo

import (
	"context"
	"fmt"
	"time"

	"gatehouse/appliance"
	"gatehouse/appliance/auth"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/keys"
	"gatehouse/appliance/stock"
)

// Login is a demo account to print.
type Login struct {
	Username string
	Password string
	Role     auth.Role
}

var companies = []struct {
	name   string
	floors []string
}{
	{"星辰科技 Star Tech", []string{"3F", "4F"}},
	{"蓝海贸易 Blue Ocean Trading", []string{"5F"}},
	{"明德律师事务所 Mingde Law", []string{"6F"}},
	{"青木设计 Aoki Design", []string{"7F"}},
	{"云帆物流 Yunfan Logistics", []string{"8F", "9F"}},
}

var (
	surnames = []string{"王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴"}
	given    = []string{"伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰", "涛", "明"}
)

// Seed fills a with the demo building unless it already has accounts. It
// returns the demo sign-ins, or nil if nothing was seeded.
func Seed(ctx context.Context, a *appliance.App) ([]Login, error) {
	has, err := a.Auth.HasAccounts()
	if err != nil || has {
		return nil, err
	}
	const actor = "demo"
	floors := map[string]directory.Floor{}
	for i, n := range []string{"B1", "1F", "2F", "3F", "4F", "5F", "6F", "7F", "8F", "9F", "10F"} {
		f, err := a.Directory.SaveFloor(ctx, actor, directory.Floor{Name: n, Level: i - 1})
		if err != nil {
			return nil, err
		}
		floors[n] = f
	}
	var host directory.Person
	n := 0
	for ci, c := range companies {
		var ids []string
		for _, f := range c.floors {
			ids = append(ids, floors[f].ID)
		}
		comp, err := a.Directory.SaveCompany(ctx, actor, directory.Company{Name: c.name, FloorIDs: ids, Phone: fmt.Sprintf("021-6000%04d", ci+1)})
		if err != nil {
			return nil, err
		}
		for e := 0; e < 8; e++ {
			p, err := a.Directory.SavePerson(ctx, actor, directory.Person{
				Kind: directory.Employee, Name: surnames[n%len(surnames)] + given[(n*7)%len(given)],
				Mobile: fmt.Sprintf("1380013%04d", n), CompanyID: comp.ID, FloorID: ids[e%len(ids)],
				EmployeeNo: fmt.Sprintf("E%03d", n+1), CanHost: true, Position: []string{"经理 Manager", "工程师 Engineer", "助理 Assistant"}[e%3],
			})
			if err != nil {
				return nil, err
			}
			if n == 0 {
				host = p
			}
			n++
		}
	}
	for i, name := range []string{"孙保安 Sun (guard)", "钱前台 Qian (reception)", "郑经理 Zheng (property manager)"} {
		if _, err := a.Directory.SavePerson(ctx, actor, directory.Person{Kind: directory.Staff, Name: name,
			Mobile: fmt.Sprintf("1390013%04d", i), Position: []string{"保安 Guard", "前台 Reception", "物业经理 Property manager"}[i]}); err != nil {
			return nil, err
		}
	}
	logins := []Login{
		{"admin", "demo-admin-pass", auth.Admin},
		{"manager", "demo-manager-pass", auth.Manager},
		{"guard", "demo-guard-pass", auth.Reception},
		{"host", "demo-host-pass", auth.Host},
	}
	names := map[auth.Role]string{auth.Admin: "系统管理员 Administrator", auth.Manager: "郑经理 Zheng", auth.Reception: "孙保安 Sun", auth.Host: host.Name}
	accounts := map[auth.Role]auth.Account{}
	for _, l := range logins {
		na := auth.NewAccount{Username: l.Username, Name: names[l.Role], Role: l.Role, Password: l.Password}
		if l.Role == auth.Host {
			na.PersonID = host.ID
		}
		acc, err := a.Auth.CreateAccount(ctx, actor, na)
		if err != nil {
			return nil, err
		}
		accounts[l.Role] = acc
	}
	if err := seedKeysAndStock(ctx, a, accounts[auth.Manager], accounts[auth.Reception]); err != nil {
		return nil, err
	}
	return logins, nil
}

// seedKeysAndStock fills the key room and the card stock: a few customers'
// keys (one with a spare, one top-level, one out with the guard) and
// badges and blank cards in two lobbies.
func seedKeysAndStock(ctx context.Context, a *appliance.App, manager, guard auth.Account) error {
	mgr, grd := keys.PersonOf(manager), keys.PersonOf(guard)
	if err := a.KeyRoom.SaveRule(ctx, "demo", keys.Rule{Level: 2, Roles: []string{"manager", "reception"}, Curfew: "22:00"}); err != nil {
		return err
	}
	if err := a.KeyRoom.SaveRule(ctx, "demo", keys.Rule{Level: 3, Roles: []string{"admin", "manager", "reception"}, Curfew: "20:00"}); err != nil {
		return err
	}
	var first keys.Key
	for i, k := range []keys.Key{
		{Tag: "K-1201", Customer: "星河科技 Xinghe Tech", Unit: "12F-01", Cabinet: "A", Slot: "1", Level: 1},
		{Tag: "K-0302", Customer: "博远咨询 Boyuan Consulting", Unit: "3F-02", Cabinet: "A", Slot: "2", Level: 2},
		{Tag: "K-PLANT", Customer: "物业 Property (plant room)", Unit: "B1", Cabinet: "A", Slot: "9", Level: 3},
	} {
		saved, err := a.KeyRoom.RegisterKey(ctx, mgr, k)
		if err != nil {
			return err
		}
		if i == 0 {
			first = saved
		}
	}
	if _, err := a.KeyRoom.RegisterKey(ctx, mgr, keys.Key{Tag: "K-1201-S", Customer: first.Customer, Unit: first.Unit,
		Cabinet: "S", Slot: "1", Level: 1, SpareOf: first.ID}); err != nil {
		return err
	}
	if _, err := a.KeyRoom.Checkout(ctx, grd, keys.CheckoutInput{KeyID: first.ID, Reason: "maintenance", Note: "空调检修 air-con service",
		Due: a.Clock.Now().Add(2 * time.Hour)}); err != nil {
		return err
	}
	sm, sg := stock.PersonOf(manager), stock.PersonOf(guard)
	badges, _ := stock.ParseNumbers("V001..V030")
	if err := a.Stock.Receive(ctx, sg, "大堂 Lobby", stock.Badge, badges, ""); err != nil {
		return err
	}
	blanks, _ := stock.ParseNumbers("C001..C020")
	if err := a.Stock.Receive(ctx, sm, "物业办公室 Office", stock.Blank, blanks, ""); err != nil {
		return err
	}
	return a.Stock.Issue(ctx, sg, badges[:3], "访客 visitors", "")
}
