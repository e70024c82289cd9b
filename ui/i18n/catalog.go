package i18n

// The catalogues. Keys: nav.* navigation, field.* field labels, err.* field
// error codes from appliance/field (with %s for an argument), error.* page
// errors, flash.* one-time notices.

var en = map[string]string{
	"nav.home": "Home", "nav.directory": "Directory", "nav.accounts": "Accounts", "nav.tokens": "API tokens",
	"nav.audit": "Audit trail", "nav.logout": "Sign out", "nav.password": "Change password", "nav.import": "Import employees",

	"login.title": "Sign in", "login.username": "Account", "login.password": "Password", "login.submit": "Sign in",
	"login.bad_credentials": "Wrong account or password.",
	"login.locked":          "This account is locked after three wrong passwords. Try again later or ask an administrator to unlock it.",
	"login.disabled":        "This account is disabled. Ask an administrator.",

	"password.title": "Change password", "password.current": "Current password", "password.new": "New password",
	"password.confirm": "New password again", "password.rules": "At least 8 characters, not the account name.",
	"password.forced": "You signed in with a one-time password. Choose your own password to go on.",

	"home.welcome": "Welcome, %s", "home.people": "people", "home.companies": "companies", "home.floors": "floors",
	"home.host": "Your visitors and visits will appear here.",

	"people.title": "People", "people.search": "Name or employee number", "people.kind": "Type",
	"people.all_companies": "All companies", "people.all_floors": "All floors", "people.include_inactive": "Include deactivated",
	"people.add": "Add person", "people.edit": "Edit person",
	"kind.employee": "Tenant employees", "kind.staff": "Property staff",
	"companies.title": "Companies", "companies.add": "Add company", "companies.edit": "Edit company", "companies.people": "People",
	"floors.title": "Floors", "floors.add": "Add floor", "floors.edit": "Edit floor",

	"field.name": "Name", "field.mobile": "Mobile", "field.company": "Company", "field.floor": "Floor", "field.floors": "Floors",
	"field.employee_no": "Employee number", "field.position": "Position", "field.can_host": "May receive visitors (host)",
	"field.status": "Status", "field.phone": "Phone", "field.level": "Level (order, basement below 0)",

	"status.active": "Active", "status.inactive": "Deactivated", "status.disabled": "Disabled",
	"action.save": "Save", "action.cancel": "Cancel", "action.edit": "Edit", "action.search": "Search",
	"action.deactivate": "Deactivate", "action.reactivate": "Reactivate",
	"form.fix":   "Please correct the marked fields.",
	"list.empty": "Nothing found.", "list.showing": "%d–%d of %d", "list.prev": "‹ Previous", "list.next": "Next ›",

	"import.title":    "Import employees from CSV",
	"import.help":     "The whole file is checked first. If any line is wrong, nothing is imported and every problem is listed by line. Companies and floors are matched by name. UTF-8 or Excel's GBK files both work.",
	"import.template": "Download a blank file", "import.file": "CSV file", "import.start": "Check and import",
	"import.done": "Imported %d people.", "import.rejected": "The file was not imported: nothing was written. Fix these lines and try again.",
	"import.line": "Line", "import.column": "Column", "import.problem": "Problem", "import.more_errors": "Only the first 100 problems are shown.",
	"import.again": "Import another file", "import.phase.validating": "Checking every line…", "import.phase.staging": "Preparing…",
	"import.phase.writing": "Writing…", "import.phase.queued": "Waiting…",
	"import.no_file": "Choose a CSV file.", "import.too_big": "The file is larger than 20 MB.", "import.busy": "Another import is running. Wait until it has finished.",

	"accounts.add": "Add account", "accounts.role": "Role", "accounts.last_login": "Last sign-in",
	"accounts.locked_until": "Locked until %s", "accounts.locked_admin": "Locked until unlocked", "accounts.unlock": "Unlock",
	"accounts.employee_no":      "Employee number (hosts: links the account to the directory)",
	"accounts.initial_password": "Initial password (must be changed at first sign-in)", "accounts.reset_password": "Set a new password",
	"accounts.reset_help": "The user must change it at the next sign-in.", "accounts.history": "History",
	"role.admin": "Administrator", "role.manager": "Property manager", "role.reception": "Reception / guard", "role.host": "Host employee",

	"tokens.help": "API tokens let HR or CRM systems read and update the directory through /api/v1. Send as: Authorization: Bearer <token>.",
	"tokens.name": "Name", "tokens.create": "Create token", "tokens.created": "Created", "tokens.revoke": "Revoke", "tokens.revoked": "Revoked",
	"tokens.shown_once": "Copy this token now: it is shown only once.",

	"audit.verify": "Verify the chain", "audit.time": "Time", "audit.actor": "Who", "audit.action": "What", "audit.subject": "Record", "audit.note": "Note",
	"audit.intact": "The chain is whole: %s entries verified.", "audit.broken": "The chain is broken: %s",

	"flash.saved": "Saved.", "flash.password_changed": "Password changed.", "flash.unlocked": "Account unlocked.",
	"flash.token_revoked": "Token revoked.", "flash.signed_out": "You have signed out.", "flash.session_expired": "Your session has expired. Please sign in again.",

	"error.not_found": "Not found.", "error.forbidden": "You do not have access to this page.", "error.csrf": "This form has expired. Go back, reload the page and try again.",
	"error.bad_request": "The request could not be understood.", "error.conflict": "Someone else changed this at the same time. Reload and try again.",
	"error.import_running": "An import is being written. Try again in a moment.", "error.internal": "Something went wrong on the appliance. It has been logged.",
	"error.too_large": "The upload is too large.", "error.method": "This action is not allowed here.", "error.unauthorized": "Please sign in.",

	"err.required": "Required.", "err.too_long": "At most %s characters.", "err.bad_characters": "Contains characters that are not allowed.",
	"err.invalid": "Not valid.", "err.invalid_mobile": "Not a mobile number (11 digits starting with 1, or +country code).",
	"err.invalid_phone": "Not a phone number.", "err.unknown_company": "No such company.", "err.inactive_company": "This company is deactivated.",
	"err.unknown_floor": "No such floor.", "err.floor_not_of_company": "The company is not on this floor.", "err.duplicate": "Listed twice.",
	"err.duplicate_company": "A company with this name exists.", "err.duplicate_employee_no": "This employee number is taken.",
	"err.invalid_employee_no": "Letters, digits, dot, dash and underscore only.", "err.out_of_range": "Out of range.",
	"err.floor_in_use":     "Employees of this company still work on a floor you removed.",
	"err.invalid_username": "3–32 lower-case letters, digits, dot, dash or underscore.", "err.username_taken": "This account name is taken.",
	"err.password_too_short": "At least %s characters.", "err.password_is_username": "Must not be the account name.",
	"err.password_mismatch": "The two passwords differ.", "err.password_unchanged": "Choose a password different from the current one.",
	"err.wrong_password": "Wrong password.", "err.unknown_employee_no": "No employee with this number.",
	"err.duplicate_in_file": "Employee number already used on line %s.", "err.wrong_field_count": "Wrong number of columns (%s).",
	"err.invalid_yes_no": "Write yes or no.", "err.missing_column": "Missing column: %s.", "err.unknown_column": "Unknown column: %s.",
	"err.bad_csv": "Not valid CSV here (check quotes).", "err.empty_file": "The file has no rows.", "err.not_text": "Not a text (CSV) file.",
	"err.too_many_rows": "More than %s rows.", "err.not_a_number": "Not a whole number.",
	"err.invalid_id_last6": "The last 6 characters of the ID number: 5 digits, then a digit or X.",
	"err.window_inverted":  "The end must be after the start.", "err.window_too_long": "A visit lasts at most a day.",
	"err.window_past": "This time is already over.", "err.window_too_far": "At most three months ahead.",
	"err.not_a_host": "This person cannot receive visitors.",
}

var zh = map[string]string{
	"nav.home": "首页", "nav.directory": "通讯录", "nav.accounts": "账号", "nav.tokens": "API 令牌",
	"nav.audit": "审计日志", "nav.logout": "退出", "nav.password": "修改密码", "nav.import": "导入员工",

	"login.title": "登录", "login.username": "账号", "login.password": "密码", "login.submit": "登录",
	"login.bad_credentials": "账号或密码错误。",
	"login.locked":          "连续三次密码错误，账号已锁定。请稍后再试，或请管理员解锁。",
	"login.disabled":        "账号已停用，请联系管理员。",

	"password.title": "修改密码", "password.current": "当前密码", "password.new": "新密码",
	"password.confirm": "再次输入新密码", "password.rules": "至少 8 个字符，且不能与账号相同。",
	"password.forced": "您使用的是一次性密码登录，请先设置自己的密码。",

	"home.welcome": "欢迎，%s", "home.people": "人员", "home.companies": "公司", "home.floors": "楼层",
	"home.host": "您的访客和访问记录将显示在这里。",

	"people.title": "人员", "people.search": "姓名或工号", "people.kind": "类型",
	"people.all_companies": "全部公司", "people.all_floors": "全部楼层", "people.include_inactive": "包括已停用",
	"people.add": "添加人员", "people.edit": "编辑人员",
	"kind.employee": "企业员工", "kind.staff": "物业人员",
	"companies.title": "公司", "companies.add": "添加公司", "companies.edit": "编辑公司", "companies.people": "人员",
	"floors.title": "楼层", "floors.add": "添加楼层", "floors.edit": "编辑楼层",

	"field.name": "姓名", "field.mobile": "手机", "field.company": "公司", "field.floor": "楼层", "field.floors": "楼层",
	"field.employee_no": "工号", "field.position": "职位", "field.can_host": "可接待访客（被访人）",
	"field.status": "状态", "field.phone": "电话", "field.level": "层序（地下为负数）",

	"status.active": "正常", "status.inactive": "已停用", "status.disabled": "已禁用",
	"action.save": "保存", "action.cancel": "取消", "action.edit": "编辑", "action.search": "搜索",
	"action.deactivate": "停用", "action.reactivate": "重新启用",
	"form.fix":   "请修改标出的字段。",
	"list.empty": "没有找到。", "list.showing": "第 %d–%d 条，共 %d 条", "list.prev": "‹ 上一页", "list.next": "下一页 ›",

	"import.title":    "从 CSV 导入员工",
	"import.help":     "先检查整个文件：只要有一行有误，就什么都不导入，并按行号列出全部问题。公司和楼层按名称匹配。支持 UTF-8 和 Excel 的 GBK 文件。",
	"import.template": "下载空白模板", "import.file": "CSV 文件", "import.start": "检查并导入",
	"import.done": "已导入 %d 人。", "import.rejected": "文件未导入，没有写入任何数据。请修改以下各行后重试。",
	"import.line": "行号", "import.column": "列", "import.problem": "问题", "import.more_errors": "仅显示前 100 个问题。",
	"import.again": "导入其他文件", "import.phase.validating": "正在检查每一行…", "import.phase.staging": "正在准备…",
	"import.phase.writing": "正在写入…", "import.phase.queued": "等待中…",
	"import.no_file": "请选择 CSV 文件。", "import.too_big": "文件超过 20 MB。", "import.busy": "另一个导入正在进行，请等它完成。",

	"accounts.add": "添加账号", "accounts.role": "角色", "accounts.last_login": "上次登录",
	"accounts.locked_until": "锁定至 %s", "accounts.locked_admin": "已锁定（需管理员解锁）", "accounts.unlock": "解锁",
	"accounts.employee_no":      "工号（被访人账号：关联通讯录）",
	"accounts.initial_password": "初始密码（首次登录须修改）", "accounts.reset_password": "重设密码",
	"accounts.reset_help": "用户下次登录时须修改密码。", "accounts.history": "操作记录",
	"role.admin": "系统管理员", "role.manager": "物业管理者", "role.reception": "前台 / 保安", "role.host": "企业员工（被访人）",

	"tokens.help": "API 令牌供人事或 CRM 系统通过 /api/v1 读取和更新通讯录。请求头：Authorization: Bearer <令牌>。",
	"tokens.name": "名称", "tokens.create": "创建令牌", "tokens.created": "创建时间", "tokens.revoke": "吊销", "tokens.revoked": "已吊销",
	"tokens.shown_once": "请立即复制此令牌：它只显示这一次。",

	"audit.verify": "校验日志链", "audit.time": "时间", "audit.actor": "操作人", "audit.action": "操作", "audit.subject": "对象", "audit.note": "备注",
	"audit.intact": "日志链完整：已校验 %s 条。", "audit.broken": "日志链已损坏：%s",

	"flash.saved": "已保存。", "flash.password_changed": "密码已修改。", "flash.unlocked": "账号已解锁。",
	"flash.token_revoked": "令牌已吊销。", "flash.signed_out": "您已退出。", "flash.session_expired": "会话已过期，请重新登录。",

	"error.not_found": "未找到。", "error.forbidden": "您无权访问此页面。", "error.csrf": "表单已过期。请返回、刷新页面后重试。",
	"error.bad_request": "无法理解此请求。", "error.conflict": "有人同时修改了此记录，请刷新后重试。",
	"error.import_running": "正在写入导入数据，请稍后再试。", "error.internal": "设备出现错误，已记录。",
	"error.too_large": "上传的内容过大。", "error.method": "此处不允许该操作。", "error.unauthorized": "请先登录。",

	"err.required": "必填。", "err.too_long": "最多 %s 个字符。", "err.bad_characters": "包含不允许的字符。",
	"err.invalid": "无效。", "err.invalid_mobile": "手机号格式不对（以 1 开头的 11 位数字，或 +国家代码）。",
	"err.invalid_phone": "电话号码格式不对。", "err.unknown_company": "没有这个公司。", "err.inactive_company": "该公司已停用。",
	"err.unknown_floor": "没有这个楼层。", "err.floor_not_of_company": "该公司不在这个楼层。", "err.duplicate": "重复选择。",
	"err.duplicate_company": "已有同名公司。", "err.duplicate_employee_no": "工号已被占用。",
	"err.invalid_employee_no": "只能包含字母、数字、点、横线和下划线。", "err.out_of_range": "超出范围。",
	"err.floor_in_use":     "该公司仍有员工在被移除的楼层。",
	"err.invalid_username": "3–32 个小写字母、数字、点、横线或下划线。", "err.username_taken": "账号名已被占用。",
	"err.password_too_short": "至少 %s 个字符。", "err.password_is_username": "不能与账号相同。",
	"err.password_mismatch": "两次输入的密码不一致。", "err.password_unchanged": "新密码不能与当前密码相同。",
	"err.wrong_password": "密码错误。", "err.unknown_employee_no": "没有这个工号的员工。",
	"err.duplicate_in_file": "工号已在第 %s 行使用。", "err.wrong_field_count": "列数不对（%s）。",
	"err.invalid_yes_no": "请填写 是 或 否。", "err.missing_column": "缺少列：%s。", "err.unknown_column": "无法识别的列：%s。",
	"err.bad_csv": "CSV 格式错误（请检查引号）。", "err.empty_file": "文件中没有数据行。", "err.not_text": "不是文本（CSV）文件。",
	"err.too_many_rows": "超过 %s 行。", "err.not_a_number": "不是整数。",
	"err.invalid_id_last6": "身份证号后 6 位：5 位数字加一位数字或 X。",
	"err.window_inverted":  "结束时间须晚于开始时间。", "err.window_too_long": "一次访问最长一天。",
	"err.window_past": "这个时间已经过去。", "err.window_too_far": "最多预约三个月以内。",
	"err.not_a_host": "此人不能接待访客。",
}
