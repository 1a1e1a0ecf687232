// One import per page module; a page registers itself with registerPage() (docs/console.md).
import './login.js';
import './live.js';
import './cases.js';
import './admin.js';
import './cameras.js';
import './nodes.js';
import './holds.js';
