// kefu agent console (/agent)
"use strict";
Kefu.boot({ roles: ["agent", "admin"], title: { zh: "客服工作台", en: "Agent console" }, start: () => {} });
