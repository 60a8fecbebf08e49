import './styles.css';
import { startApp } from './ui/app';

void startApp();
