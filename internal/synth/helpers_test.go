package synth_test

import corev1 "k8s.io/api/core/v1"

func corev1Container(portName string, port int32) corev1.Container {
	return corev1.Container{Name: "c", Image: "x", Ports: []corev1.ContainerPort{{Name: portName, ContainerPort: port}}}
}
