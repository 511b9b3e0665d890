export { Controller, type ControllerOptions } from './controller.js';
