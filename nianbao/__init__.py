"""nianbao: the open archive of China's government information disclosure annual reports."""
