// kefu trainer console (/trainer)
"use strict";
Kefu.boot({ roles: ["trainer", "admin"], title: { zh: "训练师控制台", en: "Trainer console" }, start: () => {} });
