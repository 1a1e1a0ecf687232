// Entry point: the shell, then every page module (each registers itself), then the first route.
import { start } from './app.js';
import './pages.js';

start();
